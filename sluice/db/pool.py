"""asyncpg pools for code that sends its own SQL without SQLAlchemy (the API's intent store, the indexer).

Apart from `sluice.db.session` so that the indexer, whose every statement goes straight to asyncpg,
starts without importing SQLAlchemy (about 0.3 s of its start-up; tests/indexer/test_imports.py).
"""

from __future__ import annotations

import asyncpg

from sluice.db.admin import plain_url


async def make_driver_pool(url: str, size: int) -> asyncpg.Pool:
    """An asyncpg pool for hot paths that send their own SQL without SQLAlchemy's execution layer
    (sluice.intents.repository.create, the indexer's batches); `url` as make_engine takes it.

    Connections open on demand and stay open (up to 2 x `size`, as the engine's pool with its
    overflow), and go back to the pool as they are: their users keep no session state that could
    leak to the next one (no SET, LISTEN, advisory lock or cursor; a transaction left open is rolled
    back by asyncpg itself), so asyncpg's reset query, one more round trip per checkout, is skipped.
    The one thing kept on purpose is the indexer's staging table (`indexer.store.create_stage`): a
    temporary table emptied at every commit, which asyncpg's reset would not drop either.
    """
    return await asyncpg.create_pool(plain_url(url), min_size=0, max_size=2 * size, reset=_keep_session)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing beyond asyncpg's own rollback of an open transaction."""
