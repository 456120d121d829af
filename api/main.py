"""ASGI entry point: `uvicorn api.main:app` (what `sluice api` runs)."""

from api.app import create_app

app = create_app()
