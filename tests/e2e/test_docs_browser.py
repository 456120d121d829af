"""/docs in headless Chromium with every request outside 127.0.0.1 refused: Swagger UI renders the
API's operations from the project's own assets (FastAPI's default page loads them from a CDN and
stays blank offline)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from api.docs import SWAGGER_UI_DIR
from sluice.config import Settings, to_asyncpg_url

from servers import serve

pytestmark = [pytest.mark.e2e, pytest.mark.db]


@pytest.fixture(scope="module")
def api_url(database_url: str) -> Iterator[str]:
    if not (SWAGGER_UI_DIR / "swagger-ui-bundle.js").is_file():
        pytest.fail(f"Swagger UI's assets are missing from {SWAGGER_UI_DIR}: run `npm ci` (make setup)")
    app = create_app(
        Settings(env="test", database_url=database_url), database_url=to_asyncpg_url(database_url)
    )
    with serve(app) as url:
        yield url


def test_docs_render_every_operation_offline(api_url: str, chromium: Any, screenshot: Any) -> None:
    page = chromium.new_context().new_page()
    outside: list[str] = []

    def offline(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(f"{api_url}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    rendered = page.locator(".opblock").count()
    spec = page.evaluate("fetch('/openapi.json').then(r => r.json())")
    operations = sum(len(methods) for methods in spec["paths"].values())
    screenshot(page, "docs")
    assert rendered == operations >= 30
    assert page.locator(".opblock-summary-path", has_text="/v1/payment_intents").count() >= 1
    assert outside == []
