"""One place that turns errors into `{"error": {"type", "code", "message", "param"}}`."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.routes import routes_for
from sluice.errors import RateLimitError, SluiceError

log = structlog.get_logger(__name__)


def error_body(error_type: str, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"type": error_type, "code": code, "message": message, "param": param}}


def _param(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


async def sluice_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SluiceError)
    headers = {}
    if isinstance(exc, RateLimitError):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    if exc.http_status >= 500:
        log.error("request_failed", code=exc.code, path=request.url.path)
    body = error_body(exc.error_type, exc.code, str(exc), exc.param)
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request", "type": "value_error"}
    param = _param(tuple(first.get("loc", ())))
    kind = str(first.get("type", ""))
    code = {
        "extra_forbidden": "parameter_unknown",
        "missing": "parameter_missing",
        "json_invalid": "invalid_json",
    }.get(kind, "parameter_invalid")
    message = str(first.get("msg", "invalid request"))
    if param:
        message = f"{param}: {message}"
    return JSONResponse(error_body("invalid_request_error", code, message, param), status_code=400)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "resource_missing", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # The router names only the first route that matched the path; Allow lists every method
        # any route of the path takes.
        methods = {m for info in routes_for(request.app, request.url.path) for m in info.methods}
        headers["Allow"] = ", ".join(sorted(methods)) or headers.get("Allow", "")
    return JSONResponse(
        error_body("invalid_request_error", code, str(exc.detail)),
        status_code=exc.status_code,
        headers=headers,
    )


def unexpected_error_response() -> JSONResponse:
    """The 500 answer to an exception nothing else handled (api.middleware sends it)."""
    return JSONResponse(
        error_body("api_error", "internal_error", "an internal error occurred"), status_code=500
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(SluiceError, sluice_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
