"""The app's routes as one flat list of (full path template, methods, declared route).

FastAPI keeps included routers as nested entries of `app.routes`; the middlewares that need to know
which route a path belongs to before routing (CORS, 405's `Allow`, refused-write audit rows) read
this list instead, built the way FastAPI's own OpenAPI generator walks the routes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import routing
from starlette.routing import BaseRoute, compile_path


@dataclass(frozen=True)
class RouteInfo:
    #: The full template, prefix included: `/v1/payment_intents/{intent_id}/cancel`.
    path: str
    methods: frozenset[str]
    #: The route as declared (for an APIRoute: its `dependant`).
    route: BaseRoute
    regex: re.Pattern[str]


def _contexts(routes: Iterable[BaseRoute]) -> Iterator[tuple[BaseRoute, str | None, set[str] | None]]:
    iter_contexts: Any = getattr(routing, "iter_route_contexts", None)
    if iter_contexts is None:  # FastAPI before nested routers: the list is flat already
        for route in routes:
            yield route, getattr(route, "path_format", None), getattr(route, "methods", None)
        return
    for context in iter_contexts(list(routes)):
        yield context.original_route, context.path_format, context.methods


def flat_routes(routes: Iterable[BaseRoute]) -> list[RouteInfo]:
    """Every route that answers HTTP methods (mounts such as static files are left out)."""
    found = []
    for route, path, methods in _contexts(routes):
        if path and methods:
            regex, _, _ = compile_path(path)
            found.append(RouteInfo(path, frozenset(methods), route, regex))
    return found


def app_routes(app: Any) -> list[RouteInfo]:
    """`flat_routes` of the app, computed once (the app's routes are complete once it serves)."""
    cached: list[RouteInfo] | None = getattr(app.state, "flat_routes", None)
    if cached is None:
        cached = app.state.flat_routes = flat_routes(app.routes)
    return cached


def routes_for(app: Any, path: str) -> list[RouteInfo]:
    """The routes whose template matches `path`, whatever their methods."""
    return [info for info in app_routes(app) if info.regex.match(path)]
