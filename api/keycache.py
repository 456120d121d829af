"""Authenticated API keys cached for a few seconds per process (`SLUICE_AUTH_CACHE_SECONDS`).

The idempotency middleware and the create-intent endpoint read the caller from here instead of
querying the key and its merchant on every request. Whatever is decided from a cached entry is
checked again: the create-intent write re-verifies the key and the merchant's terms in its own
statement, and failures are never cached.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import State

from sluice.merchants.keys import hash_key
from sluice.merchants.service import Account, merchant_service


class KeyCache:
    """Accounts by key sha256 for `ttl` seconds; at most `max_entries`, least recently used dropped."""

    def __init__(
        self, ttl: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, Account]] = OrderedDict()

    def cached(self, key: str) -> Account | None:
        """The key's account if cached and fresh; never touches the database."""
        digest = hash_key(key)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            del self._entries[digest]
            return None
        return entry[1]

    async def authenticate(self, sessions: async_sessionmaker[AsyncSession], key: str) -> Account:
        """The key's account, from the cache or a short session of its own; else AuthenticationError."""
        return self.cached(key) or await self.refresh(sessions, key)

    async def refresh(self, sessions: async_sessionmaker[AsyncSession], key: str) -> Account:
        """The key's account read from the database now (cached again); AuthenticationError evicts it."""
        digest = hash_key(key)
        self._entries.pop(digest, None)
        async with sessions() as session:
            account = await merchant_service.authenticate_account(session, key)
        if self.ttl > 0:
            self._entries[digest] = (self.clock() + self.ttl, account)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return account


def key_cache(state: State) -> KeyCache:
    """The app's one KeyCache (app.state.key_cache), made on first use from app.state.settings."""
    cache: KeyCache | None = getattr(state, "key_cache", None)
    if cache is None:
        cache = state.key_cache = KeyCache(state.settings.auth_cache_seconds)
    return cache
