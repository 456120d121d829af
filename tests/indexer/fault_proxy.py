"""A JSON-RPC proxy in front of anvil that misbehaves like real providers, for indexer tests.

Runs an aiohttp server on its own thread and event loop. Per request, with a seeded random source:
HTTP 500 and 429, answers slower than the client's time-out, HTML instead of JSON, dropped
connections; and always refuses eth_getLogs over more than `max_range` blocks with the "query
returned more than 10000 results" error some providers send.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from typing import Any

import aiohttp
from aiohttp import web

from chains import free_port


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        seed: int = 1,
        error_rate: float = 0.08,
        rate_limit_rate: float = 0.05,
        slow_rate: float = 0.04,
        html_rate: float = 0.04,
        drop_rate: float = 0.04,
        slow_seconds: float = 2.0,
        max_range: int = 20,
    ) -> None:
        self.upstream = upstream
        self.random = random.Random(seed)
        self.rates = [
            ("error", error_rate),
            ("rate_limit", rate_limit_rate),
            ("slow", slow_rate),
            ("html", html_rate),
            ("drop", drop_rate),
        ]
        self.slow_seconds = slow_seconds
        self.max_range = max_range
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.injected: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _fault(self) -> str | None:
        roll = self.random.random()
        for name, rate in self.rates:
            if roll < rate:
                return name
            roll -= rate
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = self._fault()
        if fault is not None:
            self.injected[fault] += 1
        if fault == "error":
            return web.Response(status=500, text="internal server error")
        if fault == "rate_limit":
            return web.Response(status=429, text='{"error": "rate limited"}')
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        if fault == "html":
            return web.Response(status=200, text="<html><body>502 Bad Gateway</body></html>")
        if fault == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        payload = json.loads(body)
        calls = payload if isinstance(payload, list) else [payload]
        too_wide = {c["id"] for c in calls if c.get("method") == "eth_getLogs" and self._wide(c)}
        assert self._session is not None
        async with self._session.post(
            self.upstream, data=body, headers={"content-type": "application/json"}
        ) as up:
            answer: Any = json.loads(await up.read())
        if too_wide:
            self.injected["range"] += 1
            answers = answer if isinstance(answer, list) else [answer]
            for item in answers:
                if item.get("id") in too_wide:
                    item.pop("result", None)
                    item["error"] = {"code": -32005, "message": "query returned more than 10000 results"}
        return web.json_response(answer)

    def _wide(self, call: dict[str, Any]) -> bool:
        flt = call["params"][0]
        return int(flt["toBlock"], 16) - int(flt["fromBlock"], 16) + 1 > self.max_range
