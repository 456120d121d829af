"""The indexer's database: an asyncpg pool, each use one connection in one transaction.

The indexer sends all its SQL straight to asyncpg (arrays, COPY, JSON rows), so it needs no ORM
session: without SQLAlchemy and the models its process starts in about half the time (~0.4 s less
of every backfill), which tests/indexer/test_imports.py keeps so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from sluice.db.admin import plain_url


async def open_pool(url: str, size: int) -> asyncpg.Pool:
    """A pool of up to `size` connections to `url` (any postgresql[+driver]:// form), opened on demand."""
    return await asyncpg.create_pool(plain_url(url), min_size=0, max_size=size)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection in one transaction: committed on success, rolled back on any error."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection for reads outside a transaction."""
    async with pool.acquire() as conn:
        yield conn
