"""Transactions the gateway's relayer key sent for an intent, and the gas it paid for them."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, Money, TimestampMixin
from sluice.ids import new_id


class RelayTransaction(TimestampMixin, Base):
    """One relayed call for one intent (a gasless payment, an escrow capture/refund/void, a nonce
    cancellation, a deposit refund, or the intent's share of a batched deposit sweep): its nonce, the
    hash of the version that was mined (the last one sent while pending), how many times it was
    replaced, and the native coin the relayer paid (`fee_paid` = gas_used × effective_gas_price; for a
    sweep, gas_used is the transaction's gas divided by the intents in its batch). The one record of
    what the operator paid per intent; the payments report shows it (`relayer_fee`)."""

    __tablename__ = "relay_transactions"
    __table_args__ = (UniqueConstraint("tx_hash", "payment_intent_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rtx"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    payment_intent_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id"), index=True)
    network: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    relayer: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[int] = mapped_column(Money)
    tx_hash: Mapped[str] = mapped_column(String(66), index=True)
    #: pending | succeeded | reverted | dropped (a sweep whose nonce went to another transaction)
    status: Mapped[str] = mapped_column(String(16))
    replacements: Mapped[int] = mapped_column(Integer, default=0)
    gas_used: Mapped[int | None] = mapped_column(Money)
    effective_gas_price: Mapped[int | None] = mapped_column(Money)
    fee_paid: Mapped[int | None] = mapped_column(Money)
