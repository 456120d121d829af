"""The merchant dashboard at /dashboard: server-rendered pages over the same sluice/ services as
the API, signed in with a session cookie (see web.py for sessions, roles and CSRF)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Adds the /dashboard pages and their script and styles at /static/dashboard."""
    from api.dashboard.account import router as account
    from api.dashboard.auth import router as auth
    from api.dashboard.developers import router as developers
    from api.dashboard.payments import router as payments
    from api.dashboard.platform import router as platform

    for router in (auth, payments, developers, account, platform):
        app.include_router(router)
    app.mount("/static/dashboard", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
