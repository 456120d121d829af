"""Dashboard fixtures: the app with an in-memory mailer, and HTTPS clients (the session cookie is
Secure, so a client over plain http would never send it back)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dashboard_support import DASHBOARD_KEY

from api.app import create_app
from sluice.config import to_asyncpg_url
from sluice.users.mailer import MemoryMailer

from intents_fixtures import make_registry, make_settings


@pytest.fixture(autouse=True)
def light_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with the smallest cost: the production profile (64 MiB, 4 lanes) would take both
    cores from the other test worker for every sign-in (tests/users checks the real profile)."""
    from argon2 import PasswordHasher

    from sluice.users import passwords

    light = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", light)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", light.hash("not a password of anyone"))


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {}


@pytest.fixture
def mailer() -> MemoryMailer:
    return MemoryMailer()


@pytest.fixture
async def app(
    db_url: str, mailer: MemoryMailer, settings_overrides: dict[str, object]
) -> AsyncIterator[object]:
    settings = make_settings(
        db_url,
        dashboard_secret_key=DASHBOARD_KEY,
        dashboard_url="https://sluice.test/dashboard",
        **settings_overrides,
    )
    application = create_app(settings, database_url=to_asyncpg_url(db_url), registry=make_registry())
    async with application.router.lifespan_context(application):
        application.state.mailer = mailer
        yield application


def _client(app: object) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="https://sluice.test")


@pytest.fixture
async def browser(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client (cookies kept); `browser2` is a second person's."""
    async with _client(app) as c:
        yield c


@pytest.fixture
async def browser2(app: object) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as c:
        yield c
