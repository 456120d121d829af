"""The FastAPI application: thin routers over sluice/ services."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from api import errors, openapi
from api.checkout import install as install_checkout
from api.cors import PublishableCorsMiddleware
from api.dashboard import install as install_dashboard
from api.docs import install as install_docs
from api.guard import InputGuardMiddleware
from api.health.endpoints import router as health_router
from api.idempotency import IdempotencyMiddleware
from api.middleware import RequestIdMiddleware
from api.ratelimit import RateLimitMiddleware
from sluice.chain.registry import Registry, get_registry
from sluice.checkout.service import CheckoutService
from sluice.config import Settings, get_settings, to_asyncpg_url
from sluice.db.admin import resolve_database_url
from sluice.db.pool import make_driver_pool
from sluice.db.session import make_engine, make_sessionmaker
from sluice.demo import DemoConfig
from sluice.intents.operations import ChainOperations
from sluice.intents.relaying import Relayers
from sluice.intents.repository.create import CreatedWriter
from sluice.intents.service import PaymentIntentService
from sluice.logging import configure_logging
from sluice.pricing.base import PriceSource
from sluice.pricing.factory import build_price_source
from sluice.refunds.service import RefundService


def create_app(
    settings: Settings | None = None,
    database_url: str | None = None,
    *,
    registry: Registry | None = None,
    prices: PriceSource | None = None,
    demo: DemoConfig | None = None,
) -> FastAPI:
    """An app bound to one database; `database_url` (asyncpg), `registry` and `prices` override the
    configured ones (tests)."""
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url or resolve_database_url(settings)
        engine = make_engine(url, settings.db_pool_size)
        app.state.engine = engine
        # Plain asyncpg connections for the create-intent hot path (sluice.intents.repository.create).
        app.state.driver_pool = await make_driver_pool(url, settings.db_pool_size)
        app.state.intent_store = CreatedWriter(app.state.driver_pool)
        app.state.sessions = make_sessionmaker(engine)
        report_engine = (
            make_engine(to_asyncpg_url(settings.report_database_url))
            if settings.report_database_url
            else None
        )
        app.state.report_sessions = make_sessionmaker(report_engine) if report_engine else app.state.sessions
        app.state.settings = settings
        app.state.intents = PaymentIntentService(
            registry or get_registry(),
            settings,
            prices if prices is not None else build_price_source(settings),
        )
        app.state.operations = ChainOperations(app.state.intents, Relayers(settings, app.state.sessions))
        app.state.refunds = RefundService(app.state.operations)
        app.state.checkout = CheckoutService(app.state.intents.registry)
        # What is loaded by now (modules, settings, registry, ~200k objects) lives as long as the
        # process: kept out of the collector's full passes, which otherwise traverse all of it every
        # few seconds under load (tens of ms each: most of the create endpoint's p99). Unfrozen on
        # shutdown, for processes that start several apps (tests).
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await app.state.intents.rails.aclose()
            await app.state.driver_pool.close()
            await engine.dispose()
            if report_engine is not None:
                await report_engine.dispose()

    app = FastAPI(
        title="Sluice API",
        version="1",
        description="Stripe-style payment intents settled by on-chain contracts.",
        lifespan=lifespan,
        # /docs is served with local assets (api.docs), never from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    # The last added runs first: request id, CORS, rate limit, input guard (headers, text, key before
    # body), idempotency, then the routes.
    app.add_middleware(IdempotencyMiddleware, settings=settings)
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(PublishableCorsMiddleware, origins=settings.cors_origins)
    app.add_middleware(RequestIdMiddleware)
    errors.install(app)
    openapi.install(app)
    app.include_router(health_router)
    for router in _v1_routers():
        app.include_router(router, prefix="/v1")
    install_checkout(app)
    install_docs(app)
    install_dashboard(app)
    if demo is not None:  # dev mode only: `sluice dev` passes the demo merchant
        from api.demo import install as install_demo

        install_demo(app, demo)
    return app


def _v1_routers() -> list[APIRouter]:
    """Every /v1 router; each domain registers here."""
    from api.accounts.endpoints import router as accounts
    from api.audit_logs.endpoints import router as audit_logs
    from api.events.endpoints import router as events
    from api.networks.endpoints import router as networks
    from api.payment_intents.endpoints import router as payment_intents
    from api.quotes.endpoints import router as quotes
    from api.refunds.endpoints import intent_router as deposit_refunds
    from api.refunds.endpoints import router as refunds
    from api.reports.endpoints import router as reports
    from api.webhook_endpoints.endpoints import router as webhook_endpoints

    return [
        payment_intents, networks, quotes, refunds, deposit_refunds, audit_logs, reports, events,
        webhook_endpoints, accounts,
    ]  # fmt: skip
