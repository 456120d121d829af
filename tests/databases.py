"""A private PostgreSQL database per test session (and xdist worker), migrated with Alembic."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg

from sluice.db.admin import temporary_database
from sluice.db.base import Base

#: The server tests use: DATABASE_URL, or the machine's PostgreSQL on 127.0.0.1 (trust auth).
SERVER_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def create_test_database() -> Iterator[str]:
    """A migrated `sluice_test_<random>` database for the session (plain URL), dropped afterwards."""
    with temporary_database(SERVER_URL, "sluice_test") as url:
        yield url


def truncate_all(url: str) -> None:
    """Empties every table (fast reset between tests)."""
    import sluice.models  # noqa: F401

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")  # type: ignore[arg-type]
