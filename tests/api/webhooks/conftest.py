"""Webhook fixtures: settings that allow 127.0.0.1 receivers, a real HTTP receiver, and a worker on an
injected clock."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

sys.path.insert(0, str(Path(__file__).parent))

from webhooks_support import TEST_SECRET_KEY, Clock, Receiver

from api.app import create_app
from sluice.config import Settings, to_asyncpg_url
from sluice.webhooks.worker import WebhookWorker

from intents_fixtures import make_registry, make_settings


def webhook_settings(db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "webhook_allow_private": True,
        "webhook_secret_key": TEST_SECRET_KEY,
        "webhook_timeout": 1.0,
        "webhook_connect_timeout": 0.5,
    }
    values.update(overrides)
    return make_settings(db_url, **values)


@pytest.fixture
def allow_private() -> bool:
    """Whether the app accepts 127.0.0.1 receivers; the SSRF tests override this with False."""
    return True


@pytest.fixture
def settings(db_url: str, allow_private: bool) -> Settings:
    return webhook_settings(db_url, webhook_allow_private=allow_private)


@pytest.fixture
async def app(db_url: str, settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings, database_url=to_asyncpg_url(db_url), registry=make_registry())
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def worker(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: Clock
) -> AsyncIterator[WebhookWorker]:
    w = WebhookWorker(sessions, settings, clock=clock, jitter=lambda: 0.0)
    yield w
    await w.aclose()
