"""What every request passes before any route sees it: header size, text the database cannot store,
authentication before the body is read, and an audit row for writes that were refused.

Pure ASGI, like the other middlewares (api.asgi). Order inside: headers, path and query, then for a
write under /v1 the key (401 before anything looks at the body), then the body.

- Header blocks over `MAX_HEADER_BYTES` are refused with 431.
- A NUL character or a lone UTF-16 surrogate cannot be stored in a PostgreSQL text column (nor
  encoded as UTF-8): anywhere in the path, the query or a JSON body it is a 400 naming where, rather
  than a failure deep inside a query.
- A write (POST, PATCH, PUT, DELETE) under /v1 whose key is missing or unknown gets its 401 before
  the body is parsed. With a valid key, a 403 or 404 answer is recorded in the merchant's audit
  log with its status (the endpoint's own transaction, and any audit row in it, was rolled back).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import State
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import is_v1, presented_key, read_body, replay_body, send_error
from api.audit import client_ip
from api.deps import _presented_key
from api.keycache import key_cache
from api.routes import routes_for
from sluice.accounts import platform_keys
from sluice.audit.service import record
from sluice.db.session import transaction
from sluice.errors import InvalidRequestError, SluiceError
from sluice.merchants.service import Principal

log = structlog.get_logger(__name__)

#: Sum of the request's header names and values; browsers and proxies commonly stop at 8-16 KB.
MAX_HEADER_BYTES = 16 * 1024
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Statuses of a refused write that the audit log records (a 401 has no valid key, so no merchant).
REFUSED = frozenset({403, 404})
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class HeadersTooLargeError(SluiceError, ValueError):
    """Raised when a request's headers add up to more than MAX_HEADER_BYTES."""

    code = "request_header_fields_too_large"
    error_type = "invalid_request_error"
    http_status = 431


def unstorable_text(value: str) -> bool:
    """Whether `value` holds a NUL or a lone surrogate, which PostgreSQL text cannot hold."""
    return _UNSTORABLE.search(value) is not None


def _check_url(scope: Scope) -> None:
    if unstorable_text(scope["path"]):
        raise InvalidRequestError(
            "the path contains a NUL character or a lone surrogate", code="invalid_text"
        )
    query: bytes = scope.get("query_string", b"")
    if query:
        raw = unquote_to_bytes(query.replace(b"+", b" "))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequestError("the query string is not valid UTF-8", code="invalid_text") from None
        if unstorable_text(text):
            raise InvalidRequestError(
                "the query string contains a NUL character or a lone surrogate", code="invalid_text"
            )
        if is_v1(scope):
            _check_repeated(query)


def _check_repeated(query: bytes) -> None:
    """Only list parameters (`types[]`) may be given more than once: for any other, which of the
    values counts would be a guess."""
    seen: set[str] = set()
    for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in seen and not name.endswith("[]"):
            raise InvalidRequestError(f"{name} is given more than once", param=name)
        seen.add(name)


def _check_json(body: bytes) -> None:
    """NUL and lone surrogates reach a JSON document only as \\u escapes: without one there is nothing
    to look for, and an unparsable body is left to the endpoint's own 400."""
    if b"\\u" not in body and b"\\U" not in body:
        return
    try:
        document = json.loads(body)
    except ValueError:
        return
    where = _find_unstorable(document, ())
    if where is not None:
        param = ".".join(where) or None
        raise InvalidRequestError(
            f"{param or 'the body'} contains a NUL character or a lone surrogate",
            param=param,
            code="invalid_text",
        )


def _find_unstorable(value: Any, path: tuple[str, ...]) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return path if unstorable_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if unstorable_text(key):
                return (*path, key.encode("utf-8", "backslashreplace").decode())
            found = _find_unstorable(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_unstorable(item, (*path, str(i)))
            if found is not None:
                return found
    return None


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            if sum(len(k) + len(v) for k, v in scope["headers"]) > MAX_HEADER_BYTES:
                raise HeadersTooLargeError(f"request headers are larger than {MAX_HEADER_BYTES} bytes")
            _check_url(scope)
            principal = None
            if is_v1(scope) and scope["method"] in WRITE_METHODS:
                principal = await _authenticate(scope)
        except SluiceError as error:
            await send_error(scope, receive, send, error)
            return
        if scope["method"] in WRITE_METHODS:
            body = await read_body(receive)
            if body is None:
                return  # the client left before sending the whole body
            try:
                _check_json(body)
            except SluiceError as error:
                await send_error(scope, receive, send, error)
                return
            receive = replay_body(body, receive)
        if principal is None:
            await self.app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            # Recorded before the answer goes out, so a client that reads its audit log next finds it.
            if message["type"] == "http.response.start" and message["status"] in REFUSED:
                await _audit_refused(scope, principal, message["status"])
            await send(message)

        await self.app(scope, receive, watch)


async def _authenticate(scope: Scope) -> Principal | None:
    """The key's principal (cached a few seconds, see api.keycache); AuthenticationError otherwise.
    A platform operator's key (plk_…) is checked as one and has no merchant principal."""
    key = presented_key(scope)
    if key is None:
        _presented_key(Request(scope))  # raises the same error the endpoint would
    assert key is not None
    state: State = scope["app"].state
    sessions: async_sessionmaker[AsyncSession] = state.sessions
    if platform_keys.is_platform_key(key):
        async with sessions() as session:
            await platform_keys.authenticate(session, key)
        return None
    return (await key_cache(state).authenticate(sessions, key)).principal


async def _audit_refused(scope: Scope, principal: Principal, status: int) -> None:
    """One audit row for a refused write: the action is the method and route template
    (`POST /v1/payment_intents/{intent_id}/cancel`), the object the first path parameter."""
    method = scope["method"]
    template = next(
        (info.path for info in routes_for(scope["app"], scope["path"]) if method in info.methods),
        scope["path"],
    )
    params: dict[str, Any] = scope.get("path_params") or {}
    object_id = next((str(v) for v in params.values()), None)
    state = scope["app"].state
    try:
        async with transaction(state.sessions) as session:
            await record(
                session,
                merchant_id=principal.merchant_id,
                api_key_id=principal.api_key_id,
                action=f"{method} {template}"[:80],
                object_id=object_id[:40] if object_id else None,
                ip=client_ip(Request(scope), state.settings.trusted_proxy_hops),
                request_id=scope.get("state", {}).get("request_id"),
                status_code=status,
            )
    except Exception:
        log.exception("audit_refused_write_failed", merchant_id=principal.merchant_id, status=status)
