"""Request ids on every response, and structured access logs."""

from __future__ import annotations

import time

import structlog
from starlette.datastructures import URL, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sluice.ids import new_id

log = structlog.get_logger("sluice.api")


class RequestIdMiddleware:
    """Gives each request a `req_…` id (`Request-Id` header, `request.state.request_id`) and logs it,
    without secrets.

    Pure ASGI rather than BaseHTTPMiddleware, which runs the app in a task group of its own and
    streams the response through a memory channel on every request. The log line is written when the
    response starts, with the time taken until then, as before.
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

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Request-Id"] = request_id
                log.info(
                    "request",
                    request_id=request_id,
                    method=scope["method"],
                    path=URL(scope=scope).path,
                    status=message["status"],
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )
            await send(message)

        await self.app(scope, receive, send_with_id)
