"""Webhook test support: a real HTTP receiver, an injectable clock, helpers to add endpoints and events."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.clock import utcnow
from sluice.events.outbox import NewEvent
from sluice.events.service import record_events

#: The AES-256-GCM key tests encrypt webhook secrets with (never a real one).
TEST_SECRET_KEY = "11" * 32


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ------------------------------------------------------------------------------- the receiver


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1. `mode` says how it answers: "ok", "500", "slow" (past the
    time-out), "redirect", "410", "429" (Retry-After: 120), or a handler of one's own."""

    port: int = 0
    mode: str | Handler = "ok"
    received: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def ids(self) -> Counter[str]:
        return Counter(r.webhook_id for r in self.received)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Received(headers, await request.read()))
        mode = self.mode
        if callable(mode):
            return await mode(request)
        if mode == "ok":
            return web.Response(text="thanks")
        if mode == "500":
            return web.Response(status=500, text="boom " * 1000)
        if mode == "slow":
            await asyncio.sleep(5)
            return web.Response(text="too late")
        if mode == "redirect":
            return web.Response(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
        if mode == "410":
            return web.Response(status=410, text="gone")
        if mode == "429":
            return web.Response(status=429, headers={"Retry-After": "120"}, text="slow down")
        raise AssertionError(mode)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


# ---------------------------------------------------------------------------------- the clock


class Clock:
    """An injectable clock: the worker's notion of now, moved by the test."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# ------------------------------------------------------------------------------------ helpers


async def add_endpoint(client: Any, key: str, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook_endpoints", json={"url": url, "enabled_events": events or ["*"]}, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_events(
    sessions: async_sessionmaker[AsyncSession],
    merchant_id: str,
    n: int = 1,
    *,
    type: str = "payment_intent.succeeded",
    livemode: bool = False,
    created_at: datetime | None = None,
) -> list[str]:
    """Records `n` events as a service would (object payloads are small stand-ins)."""
    events = [
        NewEvent(
            merchant_id=merchant_id,
            livemode=livemode,
            type=type,
            object_id=f"pi_test{i}",
            object={"id": f"pi_test{i}", "object": "payment_intent", "n": i},
            **({"created_at": created_at} if created_at else {}),
        )
        for i in range(n)
    ]
    async with sessions() as s, s.begin():
        return await record_events(s, events)
