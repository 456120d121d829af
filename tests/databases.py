"""A private PostgreSQL database per test session (and xdist worker), migrated with Alembic."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
from psycopg import sql

from sluice.config import to_asyncpg_url
from sluice.db.base import Base
from sluice.db.migrate import upgrade

#: The server tests use: DATABASE_URL, or the machine's PostgreSQL on 127.0.0.1 (trust auth).
SERVER_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def _plain(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return url


def _with_database(url: str, name: str) -> str:
    base, _, _ = _plain(url).rpartition("/")
    return f"{base}/{name}"


def create_test_database() -> Iterator[str]:
    """Creates `sluice_test_<random>`, migrates it to head, yields its plain URL, drops it."""
    name = f"sluice_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(SERVER_URL), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = _with_database(SERVER_URL, name)
    try:
        upgrade(to_asyncpg_url(url))
        yield url
    finally:
        with psycopg.connect(_plain(SERVER_URL), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def truncate_all(url: str) -> None:
    """Empties every table (fast reset between tests)."""
    import sluice.models  # noqa: F401

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]
