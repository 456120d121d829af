"""`Idempotency-Key` on every POST under /v1, as a pure ASGI middleware: endpoints do nothing.

For a POST with the header: authenticate the key (cached a few seconds, see api.keycache), hash
the request (its body as parsed JSON: other whitespace or key order is the same request), claim
the key in a committed transaction of its own, run the endpoint, then store its status and JSON
body and only then send it. Retries with the same request get the stored response with
`Idempotent-Replayed: true`; a different request under the same key gets 400 idempotency_error;
a duplicate while the first still runs gets 409. Server errors (≥ 500) and refusals before the
endpoint ran (401, 403) are not stored: the claim is released so a retry runs.

The response is held back until it is stored, which also means it is sent only after the
endpoint's session has committed (FastAPI closes `yield` dependencies after the endpoint's
response is produced), so a client never sees a success that was then rolled back.
"""

from __future__ import annotations

import json

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import header, is_v1, presented_key, read_body, replay_body, send_error
from api.keycache import key_cache
from sluice.config import Settings
from sluice.db.session import transaction
from sluice.errors import AuthenticationError, InvalidRequestError, SluiceError
from sluice.idempotency.service import (
    MAX_KEY_LENGTH,
    StoredResponse,
    canonical_body,
    idempotency_service,
    request_hash,
)

log = structlog.get_logger(__name__)

HEADER = b"idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"


def _storable(status: int) -> bool:
    """Whether a retry should see this response again rather than run the request anew."""
    return status < 500 and status not in (401, 403)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = header(scope, HEADER) if is_v1(scope) and scope["method"] == "POST" else None
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            error = InvalidRequestError(
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters (a UUID is a good choice)",
                param="Idempotency-Key",
            )
            await send_error(scope, receive, send, error)
            return
        api_key = presented_key(scope)
        state = scope["app"].state
        sessions: async_sessionmaker[AsyncSession] = state.sessions
        try:
            principal = (
                (await key_cache(state).authenticate(sessions, api_key)).principal if api_key else None
            )
        except AuthenticationError:
            principal = None
        if principal is None:
            # No merchant to scope the key to: the endpoint's own authentication answers 401.
            await self.app(scope, receive, send)
            return

        body = await read_body(receive)
        if body is None:
            return  # the client left before sending the whole body: nothing to run or answer
        # Mode and kind are hashed in, so a replay never crosses test/live or goes to another kind of key.
        digest = request_hash(
            principal.mode.value.encode(),
            principal.kind.value.encode(),
            scope["method"].encode(),
            scope["path"].encode(),
            scope["query_string"],
            canonical_body(body),
        )
        merchant_id = principal.merchant_id
        try:
            async with transaction(sessions) as session:
                stored = await idempotency_service.claim(session, merchant_id, key, digest)
        except SluiceError as error:
            await send_error(scope, receive, send, error)
            return
        if stored is not None:
            await _replay(stored, scope, receive, send)
            return
        await self._run_and_store(scope, replay_body(body, receive), send, sessions, merchant_id, key)

    async def _run_and_store(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        sessions: async_sessionmaker[AsyncSession],
        merchant_id: str,
        key: str,
    ) -> None:
        """Runs the endpoint with its response held back, stores it (or releases the key), sends it."""
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, receive, hold)
        except BaseException:
            await self._finish(sessions, merchant_id, key, None)
            raise
        start = next((m for m in messages if m["type"] == "http.response.start"), None)
        status: int | None = start["status"] if start is not None else None
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        stored: StoredResponse | None = None
        if status is not None and _storable(status):
            try:
                stored = StoredResponse(status, json.loads(body) if body else None)
            except ValueError:
                log.warning("idempotency_response_not_json", status=status, path=scope["path"])
        await self._finish(sessions, merchant_id, key, stored)
        for message in messages:
            await send(message)

    async def _finish(
        self,
        sessions: async_sessionmaker[AsyncSession],
        merchant_id: str,
        key: str,
        stored: StoredResponse | None,
    ) -> None:
        """Stores the response, or releases the claim when there is none to store; shielded from
        cancellation. If the database fails here the claim stays in flight (409) until it expires:
        safer than letting a retry run a request that may have taken effect."""
        with anyio.CancelScope(shield=True):
            try:
                async with transaction(sessions) as session:
                    if stored is None:
                        await idempotency_service.release(session, merchant_id, key)
                    else:
                        await idempotency_service.complete(
                            session, merchant_id, key, stored.status, stored.body
                        )
            except Exception:
                log.exception("idempotency_store_failed", merchant_id=merchant_id, released=stored is None)


async def _replay(stored: StoredResponse, scope: Scope, receive: Receive, send: Send) -> None:
    headers = {REPLAYED_HEADER: "true"}
    response: Response
    if stored.body is None:
        response = Response(status_code=stored.status, headers=headers)
    else:
        response = JSONResponse(stored.body, status_code=stored.status, headers=headers)
    await response(scope, receive, send)
