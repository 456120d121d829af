"""Request ids on every response, structured access logs, and the last word on unexpected errors."""

from __future__ import annotations

import time

import structlog
from starlette.datastructures import URL, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import unexpected_error_response
from sluice.ids import new_id

log = structlog.get_logger("sluice.api")


class RequestIdMiddleware:
    """Gives each request a `req_…` id (`Request-Id` header, `request.state.request_id`) and logs it,
    without secrets.

    Pure ASGI rather than BaseHTTPMiddleware, which runs the app in a task group of its own and
    streams the response through a memory channel on every request. The log line is written when the
    response starts, with the time taken until then, as before.

    Responses get `Cache-Control: no-store` unless they set their own or are static assets
    (/static/…): API answers and pages carry client secrets, webhook signing secrets and private data
    that no cache should keep.

    An exception no handler turned into a response ends here as the usual 500 error body, with its
    Request-Id, and is not raised further: the server keeps the connection alive instead of dropping it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()

        started_response = False
        static = scope["path"].startswith("/static/")

        async def send_with_id(message: Message) -> None:
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
                headers = MutableHeaders(scope=message)
                headers["Request-Id"] = request_id
                if "cache-control" not in headers and not static:
                    headers["Cache-Control"] = "no-store"
                log.info(
                    "request",
                    request_id=request_id,
                    method=scope["method"],
                    path=URL(scope=scope).path,
                    status=message["status"],
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", request_id=request_id, path=URL(scope=scope).path)
            if started_response:
                raise  # part of a response is out: only closing the connection can tell the client
            await unexpected_error_response()(scope, receive, send_with_id)
