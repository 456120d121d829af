"""What the indexer knows about each chain: canonical contract events, recent block hashes, checkpoints.

`onchain_events` holds exactly the canonical chain's Sluice contract events up to each network's
checkpoint: rows of blocks removed by a reorganisation are deleted in the same transaction that
reverts their effects. The natural key is (network, tx_hash, tx_log_index), not the block: a
transaction re-included in another block keeps its hash and the position of its Sluice logs within
it, so the same event can never be stored twice (see docs/indexer.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sluice.clock import utcnow
from sluice.db.base import Base, Money


class OnchainEvent(Base):
    """One decoded SluicePayments / SluiceEscrow event of the canonical chain."""

    __tablename__ = "onchain_events"
    __table_args__ = (
        UniqueConstraint("network", "tx_hash", "tx_log_index", name="uq_onchain_events_network_tx_log"),
        Index("ix_onchain_events_network_block", "network", "block_number"),
        Index("ix_onchain_events_payment_intent_id", "payment_intent_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    network: Mapped[str] = mapped_column(String(40))
    chain_id: Mapped[int]
    #: 'payments' | 'escrow'
    contract_kind: Mapped[str] = mapped_column(String(16))
    contract_address: Mapped[str] = mapped_column(String(42))
    #: 'Paid' | 'Deposited' | 'Captured' | 'Refunded' | 'Voided' | 'Reclaimed'
    name: Mapped[str] = mapped_column(String(20))
    #: The intent's 32-byte on-chain id (indexed topic of every event).
    onchain_id: Mapped[bytes] = mapped_column(LargeBinary(32))
    payment_intent_id: Mapped[str | None] = mapped_column(ForeignKey("payment_intents.id"))
    merchant_id: Mapped[str | None] = mapped_column(ForeignKey("merchants.id"))
    tx_hash: Mapped[str] = mapped_column(String(66))
    #: Position in the block (as the node reports it; changes when the transaction moves).
    log_index: Mapped[int]
    #: Position among the transaction's Sluice logs: stable across re-inclusion (part of the key).
    tx_log_index: Mapped[int]
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[datetime]
    payer: Mapped[str | None] = mapped_column(String(42))
    #: Recipient of the remainder (Paid, Captured).
    merchant: Mapped[str | None] = mapped_column(String(42))
    #: Token paid; None for the native coin. Escrow events without a token field take the intent's.
    token: Mapped[str | None] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(Money)
    merchant_amount: Mapped[int | None] = mapped_column(Money)
    #: [{"recipient": "0x…", "amount": "<base units>"}] in split order (Paid, Captured).
    fee_amounts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    #: The contract's running total where the event carries one (totalDeposited/Captured/Refunded).
    total: Mapped[int | None] = mapped_column(Money)
    #: When the indexer stored it (no index: reports go by block time).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IndexerBlock(Base):
    """A recent canonical block (the reorg window): parent-hash mismatches reveal reorganisations."""

    __tablename__ = "indexer_blocks"

    network: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(66))
    parent_hash: Mapped[str] = mapped_column(String(66))


class IndexerState(Base):
    """Per-network checkpoint, committed in the same transaction as the events up to it."""

    __tablename__ = "indexer_state"

    network: Mapped[str] = mapped_column(String(40), primary_key=True)
    chain_id: Mapped[int | None]
    #: Last block whose events are all stored (the checkpoint) and its hash.
    last_block: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str | None] = mapped_column(String(66))
    #: Latest chain head seen (reports: confirmations = head_block - block_number + 1).
    head_block: Mapped[int] = mapped_column(BigInteger)
    #: Highest block counted as confirmed (depth or the node's finalized tag) at the last commit.
    confirmed_block: Mapped[int] = mapped_column(BigInteger, default=-1)
    #: Set when the indexer stopped for this network (e.g. a reorg deeper than the window).
    halted_reason: Mapped[str | None] = mapped_column(String(400))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
