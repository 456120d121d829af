"""Shared parts of the pure ASGI middlewares: which paths they guard, the presented key, errors.

Pure ASGI (not BaseHTTPMiddleware) so that they cost a dict lookup on the hot path and do not
wrap the response in another task.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from api import errors
from api.deps import _presented_key
from sluice.errors import AuthenticationError, SluiceError


def is_v1(scope: Scope) -> bool:
    """An HTTP request under /v1 (lifespan scopes have no path)."""
    if scope["type"] != "http":
        return False
    path: str = scope["path"]
    return path == "/v1" or path.startswith("/v1/")


def presented_key(scope: Scope) -> str | None:
    """The API key in the Authorization header, as get_principal reads it; None when there is none."""
    try:
        return _presented_key(Request(scope))
    except AuthenticationError:
        return None


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a header (`name` lower-case)."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def send_error(scope: Scope, receive: Receive, send: Send, error: SluiceError) -> None:
    """Answers with the API's standard error body, exactly as the exception handlers would."""
    response = await errors.sluice_error(Request(scope, receive), error)
    await response(scope, receive, send)


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the next layer the body already read, then whatever comes next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
