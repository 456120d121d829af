"""/v1/refunds: uncaptured escrow funds back to the payer, or a deposit address's over- or late payment
to an address the merchant gives (with the merchant's signature of
/v1/payment_intents/{id}/deposit_refund_authorizations)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.audit import Audit
from api.deps import ReadKey, SecretKey, Session
from api.schemas import BaseUnits, ListResponse, Strict
from sluice.errors import InvalidRequestError
from sluice.refunds.service import RefundService
from sluice.refunds.views import RefundPublic

router = APIRouter(prefix="/refunds", tags=["refunds"])
#: The deposit refund's first step lives under its intent.
intent_router = APIRouter(prefix="/payment_intents", tags=["refunds"])


class RefundCreate(Strict):
    payment_intent: str = Field(
        description="The intent whose escrow (capture_method=manual) or deposit address is refunded."
    )
    amount: BaseUnits | None = Field(
        default=None,
        description="Base units; default all uncaptured funds. A deposit refund: the signed amount.",
    )
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    destination: str | None = Field(
        default=None,
        description="Deposit refunds: the address the money goes to (never the sender automatically: an "
        "exchange withdrawal's sender is the exchange). With `deadline` and `merchant_signature` from "
        "a deposit_refund_authorization.",
    )
    deadline: int | None = Field(default=None, description="Deposit refunds: the authorization's deadline.")
    merchant_signature: str | None = Field(
        default=None,
        description="Deposit refunds: the payout address's EIP-712 signature of the authorization's "
        "typed_data (eth_signTypedData_v4), 0x-hex.",
    )


class DepositRefundAuthorizationCreate(Strict):
    destination: str = Field(description="The address to refund to (EIP-55).")
    amount: BaseUnits | None = Field(default=None, description="Base units; default all that is refundable.")


class DepositRefundAuthorization(BaseModel):
    object: Literal["deposit_refund_authorization"] = "deposit_refund_authorization"
    payment_intent: str
    destination: str
    amount: str
    token: str | None
    deadline: int
    #: The EIP-712 `Refund` for the payout address to sign (eth_signTypedData_v4 shape).
    typed_data: dict[str, Any]


async def refunds(request: Request) -> RefundService:
    service: RefundService = request.app.state.refunds
    return service


Refunds = Annotated[RefundService, Depends(refunds)]


@router.post("", response_model=RefundPublic)
async def create_refund(
    body: RefundCreate, principal: SecretKey, session: Session, service: Refunds, audit: Audit
) -> RefundPublic:
    """Refund uncaptured escrow funds to the payer (the escrow sends them only to the payer), or, with
    `destination`, `amount`, `deadline` and `merchant_signature`, an over- or late payment held at the
    intent's deposit address (relayed by the gateway, recorded, announced by `refund.*` webhooks).
    Other automatic-capture payments already went to the merchant and are refunded from its wallet."""
    if body.destination is not None:
        missing = [
            name for name in ("amount", "deadline", "merchant_signature") if getattr(body, name) is None
        ]
        if missing:
            raise InvalidRequestError(
                f"a deposit refund needs {', '.join(missing)} (from a deposit_refund_authorization)",
                param=missing[0],
                code="parameter_missing",
            )
        assert body.amount is not None and body.deadline is not None and body.merchant_signature is not None
        refund = await service.create_deposit_refund(
            session,
            principal,
            body.payment_intent,
            destination=body.destination,
            amount=body.amount,
            deadline=body.deadline,
            merchant_signature=body.merchant_signature,
            reason=body.reason,
        )
        await audit("refund.create", refund.id)
        return RefundPublic.of(refund)
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


@intent_router.post("/{intent_id}/deposit_refund_authorizations", response_model=DepositRefundAuthorization)
async def create_deposit_refund_authorization(
    intent_id: str,
    body: DepositRefundAuthorizationCreate,
    principal: SecretKey,
    session: Session,
    service: Refunds,
) -> DepositRefundAuthorization:
    """What the payout address signs to refund an over- or late payment held at the intent's deposit
    address to `destination`: checked now (400 `nothing_refundable`, `amount_too_large`,
    `invalid_address`, `deposit_not_swept`, `refund_unsupported`), valid for an hour. Send the signature
    to POST /v1/refunds."""
    found = await service.deposit_refund_authorization(
        session, principal, intent_id, destination=body.destination, amount=body.amount
    )
    return DepositRefundAuthorization(
        payment_intent=intent_id,
        destination=found.destination,
        amount=str(found.amount),
        token=None
        if int(found.typed_data["message"]["token"], 16) == 0
        else found.typed_data["message"]["token"],
        deadline=found.deadline,
        typed_data=found.typed_data,
    )
