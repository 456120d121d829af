"""The dev-mode demo shop (`/demo`): a merchant's site that takes crypto through Sluice, end to end."""

from __future__ import annotations

from fastapi import FastAPI

from sluice.demo import DemoConfig


def install(app: FastAPI, demo: DemoConfig) -> None:
    """Adds /demo (shop, orders, webhook receiver); only `sluice dev` calls this."""
    from api.demo.endpoints import router

    app.state.demo = demo
    app.include_router(router)
