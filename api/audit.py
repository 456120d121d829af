"""The `Audit` dependency: endpoints record what they changed in their own transaction.

    @router.post("/payment_intents", status_code=201)
    async def create(body: PaymentIntentCreate, principal: SecretKey, session: Session, audit: Audit):
        intent = await payment_intent_service.create(session, principal, body)
        await audit("payment_intent.create", intent.id)
        return intent

The row goes into the same session as the endpoint's change (FastAPI hands both the same
`Session`), so it commits with the change or is rolled back with it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import AnyKey, Session
from sluice.audit.service import AuditContext, record
from sluice.config import Settings
from sluice.merchants.service import Principal
from sluice.models.audit import AuditLog


@dataclass(frozen=True)
class Auditor:
    """Writes audit rows for one request; call it once per object the endpoint changed."""

    session: AsyncSession
    principal: Principal
    ip: str | None
    request_id: str | None
    #: The route's success status, recorded unless the endpoint says otherwise.
    status_code: int

    async def __call__(
        self, action: str, object_id: str | None = None, *, status_code: int | None = None
    ) -> AuditLog:
        """Records `action` (e.g. "payment_intent.create") on `object_id` by the calling key."""
        return await record(
            self.session,
            merchant_id=self.principal.merchant_id,
            api_key_id=self.principal.api_key_id,
            action=action,
            object_id=object_id,
            ip=self.ip,
            request_id=self.request_id,
            status_code=status_code or self.status_code,
        )


def client_ip(request: Request, trusted_proxy_hops: int) -> str | None:
    """The caller's address: the socket peer, or with `trusted_proxy_hops` proxies in front, the
    address the outermost of them saw in X-Forwarded-For (entries further left are the caller's
    own claims and are ignored)."""
    if trusted_proxy_hops > 0:
        forwarded = [
            part.strip()
            for value in request.headers.getlist("x-forwarded-for")
            for part in value.split(",")
            if part.strip()
        ]
        if len(forwarded) >= trusted_proxy_hops and _is_ip(forwarded[-trusted_proxy_hops]):
            return forwarded[-trusted_proxy_hops]
    peer = request.client.host if request.client else None
    return peer if peer is not None and _is_ip(peer) else None


@lru_cache(maxsize=4096)
def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


async def get_auditor(request: Request, session: Session, principal: AnyKey) -> Auditor:
    settings: Settings = request.app.state.settings
    route = request.scope.get("route")
    return Auditor(
        session=session,
        principal=principal,
        ip=client_ip(request, settings.trusted_proxy_hops),
        request_id=getattr(request.state, "request_id", None),
        status_code=getattr(route, "status_code", None) or 200,
    )


Audit = Annotated[Auditor, Depends(get_auditor)]


def audit_context(request: Request) -> AuditContext:
    """What an audit row records about the request, for endpoints that insert the row themselves in
    their own statement (creating an intent) rather than through `Audit`."""
    settings: Settings = request.app.state.settings
    route = request.scope.get("route")
    return AuditContext(
        ip=client_ip(request, settings.trusted_proxy_hops),
        request_id=getattr(request.state, "request_id", None),
        status_code=getattr(route, "status_code", None) or 200,
    )
