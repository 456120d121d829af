"""Async engine and sessions (asyncpg)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from sluice import jsoncodec


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    # No pre-ping (a round trip on every checkout): a connection that died with the server fails its
    # request once and is discarded; connections are recycled every 30 minutes.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        json_serializer=jsoncodec.dumps,
        json_deserializer=jsoncodec.loads,
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session in one transaction: committed on success, rolled back on any error."""
    async with sessions() as session, session.begin():
        yield session


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction, for array statements sent without
    SQLAlchemy's execution layer (the indexer's batches, many outbox rows at once).

    SQLAlchemy's asyncpg adapter opens its transaction lazily, at the first statement it runs itself:
    statements sent straight to the driver before that would each commit on their own (a SIGKILL
    test caught a checkpoint committed without its events). One statement through the adapter first.
    """
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    if not driver.is_in_transaction():
        await connection.exec_driver_sql("SELECT 1")
    assert driver.is_in_transaction(), "no transaction on the driver connection"
    return driver
