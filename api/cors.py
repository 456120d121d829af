"""CORS for the endpoints a publishable key may call, and for no other.

A merchant's own page calls those endpoints from the browser with its publishable key (pk_…), so they
answer preflights and carry `Access-Control-Allow-Origin` for the origins in `SLUICE_CORS_ORIGINS`
(`["*"]` by default: a publishable key is public, and these endpoints hand out nothing it could not
see anyway). Endpoints that need a secret or restricted key never send CORS headers, so a browser
refuses to let a page read them, whatever key it holds.

Which routes are publishable is read from the routes themselves: those whose dependencies authenticate
any key (`api.deps.get_principal`) without asking for a secret or read key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import header
from api.deps import get_principal, read_key, secret_caller, secret_key
from api.routes import RouteInfo, routes_for

#: Request headers a browser may send to a publishable endpoint.
ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
#: Response headers a page may read besides the simple ones.
EXPOSED_HEADERS = "Request-Id, Idempotent-Replayed, Retry-After"
PREFLIGHT_MAX_AGE = "600"


def _calls(dependant: Dependant) -> set[Callable[..., Any]]:
    found: set[Callable[..., Any]] = set()
    stack = [dependant]
    while stack:
        current = stack.pop()
        if current.call is not None:
            found.add(current.call)
        stack.extend(current.dependencies)
    return found


def is_publishable(info: RouteInfo) -> bool:
    """Whether a publishable key may call the route: it authenticates any key and asks for no more."""
    if not isinstance(info.route, APIRoute):
        return False
    calls = _calls(info.route.dependant)
    return get_principal in calls and not calls & {secret_key, read_key, secret_caller}


def _text_header(scope: Scope, name: bytes) -> str | None:
    value = header(scope, name)
    return None if value is None else value.decode("latin-1")


class PublishableCorsMiddleware:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)

    def _route(self, scope: Scope) -> RouteInfo | None:
        return next((info for info in routes_for(scope["app"], scope["path"]) if is_publishable(info)), None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = _text_header(scope, b"origin") if scope["type"] == "http" else None
        if origin is None or not (self.any_origin or origin in self.origins):
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        if route is None:
            await self.app(scope, receive, send)
            return
        allow_origin = "*" if self.any_origin else origin
        if scope["method"] == "OPTIONS" and header(scope, b"access-control-request-method"):
            methods = ", ".join(sorted(route.methods | {"OPTIONS"}))
            headers = {
                "Access-Control-Allow-Origin": allow_origin,
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                "Vary": "Origin",
            }
            await Response(status_code=204, headers=headers)(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = allow_origin
                headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
                headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)
