"""The public (API and webhook) view of refunds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from sluice.models.refund import Refund, RefundStatus


class RefundPublic(BaseModel):
    id: str
    object: Literal["refund"] = "refund"
    payment_intent: str
    amount: str
    status: RefundStatus
    reason: str | None
    tx_hash: str | None
    #: Why a `failed` refund failed ("transaction_reverted"); None otherwise.
    failure_reason: str | None = None
    #: Where a deposit-address refund went (the address the merchant gave); None for an escrow refund.
    destination: str | None = None
    created: int

    @classmethod
    def of(cls, refund: Refund) -> RefundPublic:
        return cls(
            id=refund.id,
            payment_intent=refund.payment_intent_id,
            amount=str(refund.amount),
            status=RefundStatus(refund.status),
            reason=refund.reason,
            tx_hash=refund.tx_hash,
            failure_reason=refund.failure_reason,
            destination=refund.destination,
            created=int(refund.created_at.timestamp()),
        )
