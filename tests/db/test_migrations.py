"""The Alembic revisions build exactly the schema the models declare, and reverse cleanly."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import sluice.models  # noqa: F401
from sluice.config import to_asyncpg_url
from sluice.db.base import Base
from sluice.db.migrate import downgrade, upgrade

pytestmark = pytest.mark.db


def _sync(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def test_models_match_migrations(database_url):
    engine = create_engine(_sync(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_back(database_url):
    url = to_asyncpg_url(database_url)
    downgrade(url, "base")
    engine = create_engine(_sync(database_url))
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(url)
    assert {"payment_intents", "merchants", "api_keys"} <= set(inspect(engine).get_table_names())
    engine.dispose()
