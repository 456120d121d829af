"""Alembic environment: async (asyncpg), URL from the caller or Sluice's settings."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import sluice.models  # noqa: F401  (registers the tables)
from sluice.db.base import Base, Money

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from sluice.config import get_settings
    from sluice.db.admin import resolve_database_url

    return resolve_database_url(get_settings())


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Revisions stay frozen: Money is written as the plain NUMERIC(78,0) it stands for."""
    if type_ == "type" and isinstance(obj, Money):
        return "sa.Numeric(precision=78, scale=0)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, compare_type=True, render_item=_render_item
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
