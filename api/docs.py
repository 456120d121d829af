"""Interactive API docs at /docs (Swagger UI) with every asset served by the API itself.

FastAPI's default page loads Swagger UI's script and styles from a public CDN: offline (a laptop on
a plane, a locked-down server) the page stays blank. The assets come from the npm package
`swagger-ui-dist` (pinned in package.json, installed by `make setup` with the other npm tools) and
are served at /static/docs. ReDoc, which would need a second bundle, is not offered.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from sluice.paths import PROJECT_ROOT

SWAGGER_UI_DIR = PROJECT_ROOT / "node_modules" / "swagger-ui-dist"
ASSETS = "/static/docs"


def install(app: FastAPI) -> None:
    """Adds GET /docs and its assets under /static/docs (the app is made with `docs_url=None`)."""

    @app.get("/docs", include_in_schema=False, response_model=None)
    async def swagger_ui() -> HTMLResponse | JSONResponse:
        if not (SWAGGER_UI_DIR / "swagger-ui-bundle.js").is_file():
            return JSONResponse(
                {"error": {"type": "api_error", "code": "docs_unavailable", "param": None,
                           "message": "Swagger UI is not installed: run `npm ci` (or `make setup`)"}},
                status_code=503,
            )  # fmt: skip
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
        )

    app.mount(ASSETS, StaticFiles(directory=SWAGGER_UI_DIR, check_dir=False), name="docs-static")
