"""Idempotency-Key on POSTs under /v1, through a test-only endpoint that counts its runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import select
from structlog.testing import capture_logs

from api.app import create_app
from api.deps import SecretKey, Session
from sluice.clock import utcnow
from sluice.config import Settings, to_asyncpg_url
from sluice.errors import PricingUnavailableError
from sluice.idempotency.service import idempotency_service, prune_idempotency_keys, request_hash
from sluice.models.idempotency import IdempotencyKey

pytestmark = pytest.mark.db

PATH = "/v1/_test/echo"


class Echo:
    """A POST endpoint that counts how often its body ran, and fails or dawdles on request."""

    def __init__(self) -> None:
        self.calls = 0
        self.delay = 0.0
        self.failures: list[BaseException] = []

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.post("/_test/echo", status_code=201)
        async def echo(request: Request, principal: SecretKey, session: Session) -> dict[str, Any]:
            self.calls += 1
            run = self.calls
            await asyncio.sleep(self.delay)
            if self.failures:
                raise self.failures.pop(0)
            payload = await request.json() if await request.body() else None
            return {"object": "echo", "run": run, "merchant": principal.merchant_id, "received": payload}

        @router.get("/_test/echo")
        async def look(principal: SecretKey) -> dict[str, Any]:
            self.calls += 1
            return {"object": "echo", "run": self.calls}

        return router


@asynccontextmanager
async def serve(app: FastAPI, *, raise_app_exceptions: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://sluice.test") as client:
            yield client


@pytest.fixture
def echo() -> Echo:
    return Echo()


@pytest.fixture
def echo_app(db_url: str, echo: Echo) -> FastAPI:
    app = create_app(Settings(env="test", database_url=db_url), database_url=to_asyncpg_url(db_url))
    app.include_router(echo.router(), prefix="/v1")
    return app


@pytest.fixture
async def api(echo_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(echo_app) as client:
        yield client


def headers(secret: str, key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"} | ({"Idempotency-Key": key} if key is not None else {})


async def stored_keys(sessions: Any) -> list[IdempotencyKey]:
    async with sessions() as session:
        return list((await session.execute(select(IdempotencyKey).order_by(IdempotencyKey.key))).scalars())


async def test_retry_replays_the_first_response_and_the_endpoint_runs_once(api, echo, merchant, sessions):
    first = await api.post(PATH, json={"amount": "100"}, headers=headers(merchant.secret, "order-1"))
    again = await api.post(PATH, json={"amount": "100"}, headers=headers(merchant.secret, "order-1"))

    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    assert first.json()["received"] == {"amount": "100"}
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert again.json() == first.json()
    assert echo.calls == 1
    [row] = await stored_keys(sessions)
    assert (row.merchant_id, row.key, row.response_status) == (merchant.id, "order-1", 201)
    assert row.response_body == first.json()
    assert row.completed_at is not None and len(row.request_hash) == 64


async def test_same_key_with_a_different_body_is_an_idempotency_error(api, echo, merchant):
    await api.post(PATH, json={"amount": "100"}, headers=headers(merchant.secret, "order-1"))
    other = await api.post(PATH, json={"amount": "999"}, headers=headers(merchant.secret, "order-1"))

    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert other.json()["error"]["param"] == "Idempotency-Key"
    assert echo.calls == 1


async def test_same_key_on_another_query_string_is_an_idempotency_error(api, echo, merchant):
    await api.post(PATH, json={}, headers=headers(merchant.secret, "order-1"))
    other = await api.post(PATH + "?expand=x", json={}, headers=headers(merchant.secret, "order-1"))

    assert other.status_code == 400 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert echo.calls == 1


async def test_key_longer_than_255_characters_is_rejected_before_the_endpoint_runs(
    api, echo, merchant, sessions
):
    too_long = await api.post(PATH, json={}, headers=headers(merchant.secret, "k" * 256))
    empty = await api.post(PATH, json={}, headers=headers(merchant.secret, ""))

    for response in (too_long, empty):
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", "Idempotency-Key")
    assert echo.calls == 0
    assert await stored_keys(sessions) == []
    longest = await api.post(PATH, json={}, headers=headers(merchant.secret, "k" * 255))
    assert longest.status_code == 201 and echo.calls == 1


async def test_requests_without_the_header_run_every_time_and_store_nothing(api, echo, merchant, sessions):
    for _ in range(2):
        response = await api.post(PATH, json={"a": 1}, headers=headers(merchant.secret, None))
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert echo.calls == 2
    assert await stored_keys(sessions) == []


async def test_get_requests_ignore_the_header(api, echo, merchant, sessions):
    for _ in range(2):
        assert (await api.get(PATH, headers=headers(merchant.secret, "order-1"))).status_code == 200
    assert echo.calls == 2
    assert await stored_keys(sessions) == []


async def test_concurrent_duplicates_run_the_endpoint_once_and_the_rest_wait_or_replay(
    api, echo, merchant, sessions
):
    echo.delay = 0.3
    request = {"json": {"amount": "100"}, "headers": headers(merchant.secret, "order-1")}

    responses = await asyncio.gather(*(api.post(PATH, **request) for _ in range(100)))

    assert echo.calls == 1
    originals = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers]
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    in_use = [r for r in responses if r.status_code == 409]
    assert len(originals) == 1
    assert len(originals) + len(replays) + len(in_use) == 100
    assert all(r.status_code == 201 and r.json() == originals[0].json() for r in replays)
    assert all(r.json()["error"]["code"] == "idempotency_key_in_use" for r in in_use)
    assert all(r.json()["error"]["type"] == "idempotency_error" for r in in_use)
    later = await api.post(PATH, **request)
    assert later.headers["Idempotent-Replayed"] == "true" and later.json() == originals[0].json()
    assert echo.calls == 1
    assert len(await stored_keys(sessions)) == 1


async def test_different_merchants_use_the_same_key_independently(
    api, echo, merchant, other_merchant, sessions
):
    mine = await api.post(PATH, json={"a": 1}, headers=headers(merchant.secret, "order-1"))
    theirs = await api.post(PATH, json={"a": 1}, headers=headers(other_merchant.secret, "order-1"))

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert (mine.json()["merchant"], theirs.json()["merchant"]) == (merchant.id, other_merchant.id)
    assert echo.calls == 2
    assert {r.merchant_id for r in await stored_keys(sessions)} == {merchant.id, other_merchant.id}


async def test_test_and_live_keys_of_one_merchant_do_not_share_a_response(api, echo, merchant):
    await api.post(PATH, json={"a": 1}, headers=headers(merchant.secret, "order-1"))
    live = await api.post(PATH, json={"a": 1}, headers=headers(merchant.live_secret, "order-1"))

    assert live.status_code == 400 and live.json()["error"]["code"] == "idempotency_key_reused"
    assert echo.calls == 1


async def test_server_errors_are_not_stored_so_a_retry_runs_again(api, echo, merchant, sessions):
    echo.failures.append(PricingUnavailableError("price feed down"))

    failed = await api.post(PATH, json={"a": 1}, headers=headers(merchant.secret, "order-1"))
    assert failed.status_code == 503
    assert await stored_keys(sessions) == []
    retried = await api.post(PATH, json={"a": 1}, headers=headers(merchant.secret, "order-1"))

    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert echo.calls == 2
    [row] = await stored_keys(sessions)
    assert row.response_status == 201


async def test_an_unhandled_exception_releases_the_key(echo_app, echo, merchant, sessions):
    echo.failures.append(RuntimeError("bug"))
    async with serve(echo_app, raise_app_exceptions=False) as api:
        # Captured rather than rendered: structlog's default rich traceback takes seconds here.
        with capture_logs() as logs:
            crashed = await api.post(PATH, json={}, headers=headers(merchant.secret, "order-1"))
        assert "unhandled_error" in [entry["event"] for entry in logs]
        assert crashed.status_code == 500
        assert crashed.json()["error"]["type"] == "api_error"
        assert await stored_keys(sessions) == []
        retried = await api.post(PATH, json={}, headers=headers(merchant.secret, "order-1"))
    assert retried.status_code == 201 and echo.calls == 2


async def test_refused_requests_are_not_stored(api, echo, merchant, sessions):
    publishable = await api.post(PATH, json={}, headers=headers(merchant.publishable, "order-1"))
    unauthenticated = await api.post(PATH, json={}, headers={"Idempotency-Key": "order-1"})

    assert publishable.status_code == 403 and unauthenticated.status_code == 401
    assert await stored_keys(sessions) == []
    assert echo.calls == 0


async def test_an_expired_key_runs_the_request_again(api, echo, merchant, sessions):
    body = b'{"a":1}'
    digest = request_hash(b"test", b"secret", b"POST", PATH.encode(), b"", body)
    long_ago = utcnow() - timedelta(hours=25)
    async with sessions() as session, session.begin():
        await idempotency_service.claim(session, merchant.id, "order-1", digest, now=long_ago)
        await idempotency_service.complete(session, merchant.id, "order-1", 201, {"run": 0}, now=long_ago)

    response = await api.post(PATH, content=body, headers=headers(merchant.secret, "order-1"))

    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert echo.calls == 1
    [row] = await stored_keys(sessions)
    assert row.created_at > long_ago + timedelta(hours=24)


async def test_prune_deletes_only_keys_older_than_24_hours(merchant, sessions):
    now = utcnow()
    async with sessions() as session, session.begin():
        for key, age in (("old", timedelta(hours=25)), ("fresh", timedelta(hours=23))):
            await idempotency_service.claim(session, merchant.id, key, "0" * 64, now=now - age)

    async with sessions() as session, session.begin():
        assert await prune_idempotency_keys(session) == 1

    assert [row.key for row in await stored_keys(sessions)] == ["fresh"]


async def test_lifespan_passes_through_the_middlewares(echo_app):
    """As a server runs it: the lifespan scope goes through every middleware, which has no path."""
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    outbox: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        outbox.append(message)

    await echo_app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)

    assert [m["type"] for m in outbox] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
