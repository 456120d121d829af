"""/v1/refunds: uncaptured escrow funds back to the payer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from api.audit import Audit
from api.deps import ReadKey, SecretKey, Session
from api.schemas import BaseUnits, ListResponse, Strict
from sluice.refunds.service import RefundService
from sluice.refunds.views import RefundPublic

router = APIRouter(prefix="/refunds", tags=["refunds"])


class RefundCreate(Strict):
    payment_intent: str = Field(description="The intent (capture_method=manual) whose escrow is refunded.")
    amount: BaseUnits | None = Field(default=None, description="Base units; default all uncaptured funds.")
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


async def refunds(request: Request) -> RefundService:
    service: RefundService = request.app.state.refunds
    return service


Refunds = Annotated[RefundService, Depends(refunds)]


@router.post("", response_model=RefundPublic)
async def create_refund(
    body: RefundCreate, principal: SecretKey, session: Session, service: Refunds, audit: Audit
) -> RefundPublic:
    """Refund uncaptured escrow funds to the payer (the escrow sends them only to the payer).
    Automatic-capture payments already went to the merchant and are refunded from the merchant's wallet."""
    refund = await service.create(session, principal, body.payment_intent, body.amount, body.reason)
    await audit("refund.create", refund.id)
    return RefundPublic.of(refund)


@router.get("/{refund_id}", response_model=RefundPublic)
async def retrieve_refund(
    refund_id: str, principal: ReadKey, session: Session, service: Refunds
) -> RefundPublic:
    """Retrieve a refund."""
    return RefundPublic.of(await service.get(session, principal, refund_id))


@router.get("", response_model=ListResponse[RefundPublic])
async def list_refunds(
    principal: ReadKey,
    session: Session,
    service: Refunds,
    payment_intent: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> ListResponse[RefundPublic]:
    """List refunds, newest first, optionally of one payment intent; cursor pagination as every list."""
    rows, has_more = await service.list(
        session,
        principal,
        payment_intent=payment_intent,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return ListResponse[RefundPublic](
        data=[RefundPublic.of(r) for r in rows], has_more=has_more, url="/v1/refunds"
    )
