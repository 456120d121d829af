"""One indexer per network: a session-level PostgreSQL advisory lock held on a dedicated connection.

The lock goes with the connection: when the leader's process dies, PostgreSQL drops the lock as soon
as it notices the closed socket, and a waiting indexer takes over from the committed checkpoint.
The checkpoint's compare-and-set (indexer.store.advance_checkpoint) fences a leader that lost its
connection without noticing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable

import asyncpg
import structlog

from indexer import metrics
from indexer.store import LostLeadershipError
from sluice.db.admin import plain_url

log = structlog.get_logger(__name__)


def lock_key(network: str) -> int:
    """A stable signed 64-bit advisory lock key for the network."""
    digest = hashlib.blake2b(f"sluice.indexer:{network}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    """Acquire with `await wait(stop)`; `check()` before each batch; `release()` at the end."""

    def __init__(self, database_url: str, network: str, *, poll_seconds: float = 1.0) -> None:
        self.dsn = plain_url(database_url)
        self.network = network
        self.poll_seconds = poll_seconds
        self.key = lock_key(network)
        self._conn: asyncpg.Connection | None = None

    async def wait(self, stop: asyncio.Event) -> bool:
        """Blocks until this process leads the network (True) or `stop` is set (False)."""
        announced = False
        while not stop.is_set():
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(self.dsn)
                    await self._conn.execute("SET application_name = 'sluice-indexer'")
                if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                    log.info("indexer_leader_acquired", network=self.network)
                    return True
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("indexer_leader_lock_error", network=self.network, error=str(exc))
                await self._drop()
            if not announced:
                log.info("indexer_waiting_for_leader", network=self.network)
                announced = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
        return False

    async def check(self) -> bool:
        """Whether the lock connection is still alive (and so the lock still held)."""
        if self._conn is None or self._conn.is_closed():
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=10)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            await self._drop()
            return False
        return True

    async def ensure(self) -> None:
        """Raises LostLeadershipError unless the lock is still held (`check`): before each step."""
        if not await self.check():
            raise LostLeadershipError("the advisory lock connection was lost")

    async def lead(
        self,
        stop: asyncio.Event,
        body: Callable[[], Awaitable[None]],
        *,
        on_lost: Callable[[], None] | None = None,
        on_release: Callable[[], None] | None = None,
    ) -> None:
        """Every network follower's life: wait for the lock, run `body` while holding it (until
        `stop`), and when the lock is lost (LostLeadershipError) call `on_lost` and wait again. The
        lock is released, and `on_release` called, however `body` ends."""
        while not stop.is_set():
            if not await self.wait(stop):
                return
            metrics.LEADER.labels(self.network).set(1)
            try:
                await body()
                return
            except LostLeadershipError as exc:
                log.error("indexer_lost_leadership", network=self.network, error=str(exc))
                if on_lost is not None:
                    on_lost()
            finally:
                if on_release is not None:
                    on_release()
                metrics.LEADER.labels(self.network).set(0)
                await self.release()

    async def release(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self._conn.execute("SELECT pg_advisory_unlock($1)", self.key)
        await self._drop()

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                await self._conn.close(timeout=2)
        self._conn = None
