"""Which database (DATABASE_URL or the embedded server), its URL forms, and creating and dropping whole
databases (tests, benchmarks, `sluice dev`)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from sluice.config import Settings, to_asyncpg_url


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL with the asyncpg driver, or the embedded server's when it is unset."""
    if settings.database_url is not None:
        return to_asyncpg_url(settings.database_url)
    from sluice.db.embedded import start_embedded

    return to_asyncpg_url(start_embedded(settings.data_dir))


def plain_url(url: str) -> str:
    """A postgresql:// URL (no SQLAlchemy driver suffix), as psycopg takes it."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return url


def with_database(url: str, name: str) -> str:
    base, _, _ = plain_url(url).rpartition("/")
    return f"{base}/{name}"


@contextlib.contextmanager
def temporary_database(server_url: str, prefix: str = "sluice_tmp") -> Iterator[str]:
    """Creates `<prefix>_<random>` on the server, migrates it to head, yields its plain URL, and
    drops it afterwards (even when connections are still open)."""
    import psycopg  # here, not at the top: `plain_url` users (the indexer) start without psycopg
    from psycopg import sql

    from sluice.db.migrate import upgrade

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_database(server_url, name)
    try:
        upgrade(to_asyncpg_url(url))
        yield url
    finally:
        with psycopg.connect(plain_url(server_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
