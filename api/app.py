"""The FastAPI application: thin routers over sluice/ services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api import errors
from api.health.endpoints import router as health_router
from api.middleware import RequestIdMiddleware
from sluice.config import Settings, get_settings
from sluice.db.session import make_engine, make_sessionmaker, resolve_database_url


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    """An app bound to one database; `database_url` (asyncpg) overrides the settings (tests)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(database_url or resolve_database_url(settings), settings.db_pool_size)
        app.state.engine = engine
        app.state.sessions = make_sessionmaker(engine)
        app.state.settings = settings
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Sluice API",
        version="1",
        description="Stripe-style payment intents settled by on-chain contracts.",
        lifespan=lifespan,
    )
    app.add_middleware(RequestIdMiddleware)
    errors.install(app)
    app.include_router(health_router)
    for router in _v1_routers():
        app.include_router(router, prefix="/v1")
    return app


def _v1_routers() -> list[APIRouter]:
    """Every /v1 router; each domain registers here."""
    return []
