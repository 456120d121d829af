"""Request ids on every response, and structured access logs."""

from __future__ import annotations

import time

import structlog
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from sluice.models.ids import new_id

log = structlog.get_logger("sluice.api")


class RequestIdMiddleware(BaseHTTPMiddleware):
    """Gives each request a `req_…` id (`Request-Id` header) and logs it, without secrets."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id = new_id("req")
        request.state.request_id = request_id
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Request-Id"] = request_id
        log.info(
            "request",
            request_id=request_id,
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response
