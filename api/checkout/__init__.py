"""The hosted checkout page at /pay/{id}: HTML, its script, and the JSON/SSE endpoints it calls."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Adds /pay/{id} (page, status, events, transactions), and its script and styles at /static/checkout."""
    from api.checkout.branding import router as branding
    from api.checkout.endpoints import router
    from api.checkout.solana_pay import router as solana_pay

    app.include_router(router)
    app.include_router(branding)
    app.include_router(solana_pay)
    app.mount("/static/checkout", StaticFiles(directory=STATIC_DIR), name="checkout-static")
