"""Shared parts of the pure ASGI middlewares: which paths they guard, the presented key, errors.

Pure ASGI (not BaseHTTPMiddleware) so that they cost a dict lookup on the hot path and do not
wrap the response in another task.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from api import errors
from api.deps import _presented_key
from sluice.errors import AuthenticationError, SluiceError
from sluice.merchants.keys import hash_key
from sluice.merchants.service import Principal, merchant_service


def is_v1(scope: Scope) -> bool:
    """An HTTP request under /v1 (lifespan scopes have no path)."""
    if scope["type"] != "http":
        return False
    path: str = scope["path"]
    return path == "/v1" or path.startswith("/v1/")


def presented_key(scope: Scope) -> str | None:
    """The API key in the Authorization header, as get_principal reads it; None when there is none."""
    try:
        return _presented_key(Request(scope))
    except AuthenticationError:
        return None


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a header (`name` lower-case)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def send_error(scope: Scope, receive: Receive, send: Send, error: SluiceError) -> None:
    """Answers with the API's standard error body, exactly as the exception handlers would."""
    response = await errors.sluice_error(Request(scope, receive), error)
    await response(scope, receive, send)


class PrincipalCache:
    """Authenticated keys by sha256 for `ttl` seconds, so a middleware skips the database round trip.

    A key revoked in the meantime is still accepted here for up to `ttl` seconds (the endpoint's
    own get_principal checks the database again). Failures are never cached.
    """

    def __init__(
        self, ttl: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    async def authenticate(self, sessions: async_sessionmaker[AsyncSession], key: str) -> Principal:
        """The key's principal, from the cache or a short session of its own; else AuthenticationError."""
        digest = hash_key(key)
        now = self.clock()
        cached = self._entries.get(digest)
        if cached is not None:
            if cached[0] > now:
                return cached[1]
            del self._entries[digest]
        async with sessions() as session:
            principal = await merchant_service.authenticate(session, key)
        if self.ttl > 0:
            self._entries[digest] = (self.clock() + self.ttl, principal)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return principal
