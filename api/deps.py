"""Dependencies: the database session and the authenticated principal."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.keycache import KeyCache, key_cache
from sluice.errors import AuthenticationError, PermissionDeniedError
from sluice.merchants.service import Account, Principal, merchant_service
from sluice.models.merchant import ApiKeyKind


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the endpoint returns, and rolls back on error."""
    async with request.app.state.sessions() as session, session.begin():
        yield session


# scope="function": the transaction commits before the response is sent, so a client never sees
# success for a change that then fails to commit.
Session = Annotated[AsyncSession, Depends(get_session, scope="function")]


def _presented_key(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise AuthenticationError(
            "no API key: send `Authorization: Bearer sk_test_…` (or HTTP Basic with the key as user name)",
            code="api_key_missing",
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        try:
            return base64.b64decode(value).decode().split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            pass
    raise AuthenticationError("malformed Authorization header: expected `Bearer <key>`")


async def get_principal(request: Request, session: Session) -> Principal:
    """Any valid key (secret, restricted or publishable), looked up on every request.

    The lookup runs in the request's own session (FastAPI hands the endpoint the same one): one
    query on the connection the endpoint uses anyway, rather than a second pool checkout with its
    ping, BEGIN and ROLLBACK. The session connects only when queried, so a missing or malformed
    key still costs no database work.
    """
    key = _presented_key(request)
    principal = await merchant_service.authenticate(session, key)
    request.state.principal = principal
    return principal


async def secret_key(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """Writes need a secret key."""
    if principal.kind != ApiKeyKind.secret:
        raise PermissionDeniedError(f"a {principal.kind.value} key cannot do this; use a secret key (sk_…)")
    return principal


async def read_key(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """Reads take a secret or a restricted (read-only) key."""
    if principal.kind == ApiKeyKind.publishable:
        raise PermissionDeniedError("a publishable key cannot read this; use a secret or restricted key")
    return principal


AnyKey = Annotated[Principal, Depends(get_principal)]
SecretKey = Annotated[Principal, Depends(secret_key)]
ReadKey = Annotated[Principal, Depends(read_key)]


@dataclass
class Caller:
    """A secret key's account for a write that re-checks it itself (creating an intent): read from the
    key cache when fresh there, so the request needs no lookup. `cached` says where it came from."""

    key: str
    account: Account
    cached: bool
    cache: KeyCache

    async def refresh(self, request: Request) -> Account:
        """The account read from the database now (AuthenticationError if the key no longer works)."""
        self.account = await self.cache.refresh(request.app.state.sessions, self.key)
        self.cached = False
        return self.account


async def secret_caller(request: Request) -> Caller:
    """Like `secret_key`, from the key cache (one lookup per key every few seconds)."""
    key = _presented_key(request)
    cache = key_cache(request.app.state)
    account = cache.cached(key)
    caller = Caller(key, account, True, cache) if account is not None else None
    if caller is None:
        caller = Caller(key, await cache.refresh(request.app.state.sessions, key), False, cache)
    principal = caller.account.principal
    request.state.principal = principal
    await secret_key(principal)
    return caller


SecretCaller = Annotated[Caller, Depends(secret_caller)]
