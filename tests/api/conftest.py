"""API fixtures: the app on the test database, a merchant with keys, and an HTTP client."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from sluice.config import to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode

pytestmark = pytest.mark.db


@dataclass
class MerchantKeys:
    id: str
    secret: str
    publishable: str
    restricted: str
    live_secret: str


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(to_asyncpg_url(db_url), pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def make_merchant(sessions: async_sessionmaker[AsyncSession], name: str) -> MerchantKeys:
    async with sessions() as session, session.begin():
        m = await merchant_service.create(session, name, "0x" + "ab" * 20)
        keys = [
            await merchant_service.issue_key(session, m.id, kind, mode)
            for kind, mode in (
                (ApiKeyKind.secret, Mode.test),
                (ApiKeyKind.publishable, Mode.test),
                (ApiKeyKind.restricted, Mode.test),
                (ApiKeyKind.secret, Mode.live),
            )
        ]
    return MerchantKeys(m.id, *(k.secret for k in keys))


@pytest.fixture
async def merchant(sessions: async_sessionmaker[AsyncSession]) -> MerchantKeys:
    return await make_merchant(sessions, "Acme")


@pytest.fixture
async def other_merchant(sessions: async_sessionmaker[AsyncSession]) -> MerchantKeys:
    return await make_merchant(sessions, "Globex")


@pytest.fixture
def prices() -> object | None:
    """The app's price source; tests that price in fiat override this fixture."""
    return None


@pytest.fixture
async def app(db_url: str, prices: object | None) -> AsyncIterator[object]:
    from intents_fixtures import make_registry, make_settings

    application = create_app(
        make_settings(db_url), database_url=to_asyncpg_url(db_url), registry=make_registry(), prices=prices
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://sluice.test") as c:
        yield c
