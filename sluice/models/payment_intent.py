"""Payment intents: one amount of one asset on one network, owed to one merchant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sluice.clock import utcnow
from sluice.db.base import Base, Money
from sluice.ids import new_id
from sluice.intents.status import CaptureMethod, PaymentIntentStatus


class PaymentIntent(Base):
    __tablename__ = "payment_intents"
    __table_args__ = (
        Index("ix_payment_intents_merchant_created", "merchant_id", "created_at", "id"),
        # Report summaries count a merchant's intents by status with an index-only scan.
        Index(
            "ix_payment_intents_merchant_status",
            "merchant_id",
            "network",
            "status",
            postgresql_include=["created_at", "asset"],
        ),
        # The expiry job: open intents past their deadline, oldest first. Partial, so the indexer's
        # and the API's status changes away from requires_payment leave it alone.
        Index(
            "ix_payment_intents_deposit_address",
            "deposit_address",
            unique=True,
            postgresql_where=text("deposit_address IS NOT NULL"),
        ),
        # The indexer's watch list of a network's deposit addresses, by creation time.
        Index(
            "ix_payment_intents_deposit_watch",
            "network",
            "created_at",
            postgresql_where=text("deposit_address IS NOT NULL"),
        ),
        Index(
            "ix_payment_intents_open_expiry",
            "expires_at",
            postgresql_where=text("status = 'requires_payment'"),
        ),
        # The Solana indexer reads what changed since its last step (indexer/solana.py). Partial:
        # EVM intents, found by their contract's events, are not in it.
        Index(
            "ix_payment_intents_watched",
            "network",
            "updated_at",
            postgresql_where=text("rail <> 'evm-contract'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("pi"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    livemode: Mapped[bool]
    status: Mapped[PaymentIntentStatus] = mapped_column(String(32))
    capture_method: Mapped[CaptureMethod] = mapped_column(String(16))
    #: How it is paid (sluice.rails): "evm-contract", … (the first of `payment_method_types`).
    rail: Mapped[str] = mapped_column(String(32))
    #: How the payer may pay: "contract_call", "deposit_address" (sluice.rails.evm_deposit.METHOD_RAILS).
    payment_method_types: Mapped[list[str]] = mapped_column(
        JSONB, default=lambda: ["contract_call"], server_default=text("'[\"contract_call\"]'::jsonb")
    )
    #: The counterfactual CREATE2 address a plain transfer pays (the evm-deposit rail), or None.
    deposit_address: Mapped[str | None] = mapped_column(String(64))
    #: Transfers of an asset the intent did not ask for seen at its deposit address (announced once each).
    stray_deposits: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    network: Mapped[str] = mapped_column(String(40))
    chain_id: Mapped[int]
    asset: Mapped[str] = mapped_column(String(20))
    #: Token contract (EIP-55), or None for the native coin.
    token_address: Mapped[str | None] = mapped_column(String(64))
    decimals: Mapped[int]
    amount: Mapped[int] = mapped_column(Money)
    amount_received: Mapped[int] = mapped_column(Money, default=0)
    amount_capturable: Mapped[int] = mapped_column(Money, default=0)
    amount_refunded: Mapped[int] = mapped_column(Money, default=0)
    #: On-chain intent: random 32-byte id, replay nonce, contract, signature.
    onchain_id: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    nonce: Mapped[int] = mapped_column(Money)
    contract_address: Mapped[str] = mapped_column(String(64))
    payer: Mapped[str | None] = mapped_column(String(64))
    payout_address: Mapped[str] = mapped_column(String(64))
    #: [{"recipient": "0x…", "bps": 100, "kind": "platform"|"split"}], in on-chain order.
    splits: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    deadline: Mapped[datetime]
    reclaim_after: Mapped[datetime | None]
    #: Escrow only: several deposits may add up to the amount.
    allow_partial: Mapped[bool] = mapped_column(default=False)
    signature: Mapped[bytes] = mapped_column(LargeBinary(65))
    client_secret: Mapped[str] = mapped_column(String(80))
    quote_id: Mapped[str | None] = mapped_column(ForeignKey("quotes.id"))
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    expires_at: Mapped[datetime]
    canceled_at: Mapped[datetime | None]
    cancellation_reason: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: No index of its own: lists filter by merchant first (ix_payment_intents_merchant_created).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
