"""Refunds: escrowed funds back to the payer, or a deposit address's over- or late payment to an address
the merchant gives."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, Money, TimestampMixin
from sluice.ids import new_id


class RefundStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class Refund(TimestampMixin, Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("re"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    payment_intent_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id"), index=True)
    amount: Mapped[int] = mapped_column(Money)
    status: Mapped[RefundStatus] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(40))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    #: Where a deposit-address refund went (the merchant's choice); None for an escrow refund (the payer).
    destination: Mapped[str | None] = mapped_column(String(64))
