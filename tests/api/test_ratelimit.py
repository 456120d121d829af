"""Token-bucket rate limits per API key on /v1, in process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from api.app import create_app
from api.deps import AnyKey
from api.ratelimit import TokenBucketLimiter
from sluice.config import Settings, to_asyncpg_url

PATH = "/v1/_test/ping"
BURST = 3
RATE = 1.0  # slow enough that the requests themselves refill well under one token


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Ping:
    def __init__(self) -> None:
        self.calls = 0

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/_test/ping")
        async def ping(principal: AnyKey) -> dict[str, Any]:
            self.calls += 1
            return {"object": "ping"}

        return router


@pytest.fixture
def ping() -> Ping:
    return Ping()


@pytest.fixture
async def api(db_url: str, ping: Ping) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(env="test", database_url=db_url, rate_limit_burst=BURST, rate_limit_per_second=RATE)
    app: FastAPI = create_app(settings, database_url=to_asyncpg_url(db_url))
    app.include_router(ping.router(), prefix="/v1")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sluice.test") as client:
            yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# ------------------------------------------------------------------------------------ the bucket


def test_bucket_grants_the_burst_then_says_how_long_to_wait():
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate=2.0, burst=3, clock=clock)

    assert [limiter.acquire("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("k") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.acquire("k") == 0.0
    assert limiter.acquire("k") == pytest.approx(0.5)


def test_bucket_refills_to_the_burst_and_no_further():
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate=2.0, burst=3, clock=clock)
    limiter.acquire("k")
    clock.now += 3600

    assert [limiter.acquire("k") for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.5)]


def test_refused_requests_do_not_use_up_tokens():
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate=1.0, burst=1, clock=clock)
    limiter.acquire("k")
    for _ in range(10):
        assert limiter.acquire("k") == pytest.approx(1.0)
    clock.now += 1.0

    assert limiter.acquire("k") == 0.0


def test_buckets_are_per_key():
    limiter = TokenBucketLimiter(rate=1.0, burst=1, clock=FakeClock())

    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0


def test_idle_buckets_are_forgotten_and_memory_is_bounded():
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate=1.0, burst=2, max_keys=3, clock=clock)
    for key in "abcde":
        limiter.acquire(key)
    assert len(limiter) == 3
    clock.now += 2.0  # long enough for every bucket to be full again

    limiter.acquire("f")

    assert len(limiter) == 1


def test_limiter_rejects_a_zero_rate():
    with pytest.raises(ValueError, match="rate"):
        TokenBucketLimiter(rate=0, burst=1)


# ------------------------------------------------------------------------------------- the API


@pytest.mark.db
async def test_requests_past_the_burst_get_429_with_retry_after(api, ping, merchant):
    allowed = [await api.get(PATH, headers=auth(merchant.secret)) for _ in range(BURST)]
    limited = await api.get(PATH, headers=auth(merchant.secret))

    assert [r.status_code for r in allowed] == [200] * BURST
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["Request-Id"].startswith("req_")
    error = limited.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limited")
    assert ping.calls == BURST


@pytest.mark.db
async def test_limit_recovers_after_waiting(api, ping, merchant):
    for _ in range(BURST):
        await api.get(PATH, headers=auth(merchant.secret))
    limited = await api.get(PATH, headers=auth(merchant.secret))
    assert limited.status_code == 429

    await asyncio.sleep(int(limited.headers["Retry-After"]))

    assert (await api.get(PATH, headers=auth(merchant.secret))).status_code == 200
    assert (await api.get(PATH, headers=auth(merchant.secret))).status_code == 429


@pytest.mark.db
async def test_each_key_has_its_own_bucket(api, merchant, other_merchant):
    for _ in range(BURST + 1):
        await api.get(PATH, headers=auth(merchant.secret))

    assert (await api.get(PATH, headers=auth(merchant.restricted))).status_code == 200
    assert (await api.get(PATH, headers=auth(other_merchant.secret))).status_code == 200


@pytest.mark.db
async def test_posts_and_gets_share_the_bucket(api, merchant):
    for _ in range(BURST):
        await api.post("/v1/anything", headers=auth(merchant.secret))

    assert (await api.get(PATH, headers=auth(merchant.secret))).status_code == 429


@pytest.mark.db
async def test_unauthenticated_requests_are_not_limited(api, ping):
    statuses = {(await api.get(PATH)).status_code for _ in range(BURST * 3)}
    malformed = {
        (await api.get(PATH, headers={"Authorization": "Bearer nonsense"})).status_code
        for _ in range(BURST * 3)
    }

    assert statuses == malformed == {401}
    assert ping.calls == 0


@pytest.mark.db
async def test_routes_outside_v1_are_not_limited(api, merchant):
    statuses = {
        (await api.get("/health", headers=auth(merchant.secret))).status_code for _ in range(BURST * 3)
    }

    assert statuses == {200}
