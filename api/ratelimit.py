"""A token bucket per API key on every /v1 route, as a pure ASGI middleware (no database round trip).

Buckets live in this process: with N API processes the effective limit is N× the setting. That is
fine while N is small; a shared limit needs a shared store (PostgreSQL or Redis) and is left for later.
Requests without a well-formed key are not limited by key: they fail authentication anyway. Failed
authentications are limited per client address instead (`SLUICE_AUTH_FAILURES_PER_SECOND`, burst
`SLUICE_AUTH_FAILURE_BURST`): every 401 takes a token from the address's bucket, and an address whose
bucket is empty gets 429 for any /v1 request until it refills, so that guessing keys is slow.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import is_v1, presented_key, send_error
from api.audit import client_ip
from sluice.config import Settings
from sluice.errors import RateLimitError
from sluice.merchants import keys


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class TokenBucketLimiter:
    """`rate` tokens a second up to `burst`; each request takes one.

    Buckets are kept in least-recently-used order: those idle long enough to be full again are
    dropped (a new bucket starts full, so nothing changes), and at most `max_keys` are kept.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self.clock = clock
        self._refill_seconds = burst / rate
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are being tracked (memory use)."""
        return len(self._buckets)

    def acquire(self, key: str) -> float:
        """Takes a token for `key`: 0.0 when granted, else the seconds until one is available."""
        now = self.clock()
        self._drop_idle(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            self._buckets.move_to_end(key)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token again (0.0 when it has one now); takes none."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(self.burst, bucket.tokens + (self.clock() - bucket.updated) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _drop_idle(self, now: float) -> None:
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest.updated < self._refill_seconds:
                return
            self._buckets.popitem(last=False)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limiter = TokenBucketLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.failures = TokenBucketLimiter(settings.auth_failures_per_second, settings.auth_failure_burst)
        self.trusted_proxy_hops = settings.trusted_proxy_hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_v1(scope):
            await self.app(scope, receive, send)
            return
        address = client_ip(Request(scope), self.trusted_proxy_hops) or "unknown"
        wait = self.failures.wait(address)
        if wait > 0:
            await _refuse(scope, receive, send, wait, "too many failed authentications from this address")
            return
        api_key = presented_key(scope)
        if api_key is not None and keys.parse(api_key) is not None:
            wait = self.limiter.acquire(keys.hash_key(api_key))
            if wait > 0:
                await _refuse(scope, receive, send, wait, "too many requests with this API key")
                return

        async def count_failures(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.failures.acquire(address)
            await send(message)

        await self.app(scope, receive, count_failures)


async def _refuse(scope: Scope, receive: Receive, send: Send, wait: float, why: str) -> None:
    retry_after = max(1, math.ceil(wait))
    error = RateLimitError(f"{why}; retry after {retry_after} s", retry_after=retry_after)
    await send_error(scope, receive, send, error)
