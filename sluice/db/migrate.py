"""Running Alembic migrations from Python (dev start-up, tests, `sluice db upgrade`)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from sluice.paths import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "sluice" / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
