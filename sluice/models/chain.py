"""What the indexers know about each chain: the ledger of observed payments, recent blocks, checkpoints.

`ledger_entries` holds exactly the canonical chain's observed payments up to each network's
checkpoint, whatever the rail: rows of blocks removed by a reorganisation are deleted in the same
transaction that reverts their effects. The natural key is (network, tx_id, tx_index), not the
block: a transaction re-included in another block keeps its id and the position of its entries
within it, so the same entry can never be stored twice (see docs/indexer.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sluice.clock import utcnow
from sluice.db.base import Base, Money


class LedgerRow(Base):
    """One ledger entry of the canonical chain (sluice.ledger.entries.LedgerEntry), as stored."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("network", "tx_id", "tx_index", name="uq_ledger_entries_network_tx"),
        Index("ix_ledger_entries_network_height", "network", "height"),
        Index("ix_ledger_entries_payment_intent_id", "payment_intent_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    network: Mapped[str] = mapped_column(String(40))
    chain_id: Mapped[int]
    #: The rail that observed it ("evm-contract", …).
    rail: Mapped[str] = mapped_column(String(32))
    #: What the contract, program or address observed is (the SluicePayments contract, …).
    source: Mapped[str] = mapped_column(String(200))
    #: sluice.ledger.entries.EntryKind: received | escrow_deposited | captured | refunded | released
    kind: Mapped[str] = mapped_column(String(24))
    #: For `released`: void | reclaimed.
    reason: Mapped[str | None] = mapped_column(String(16))
    #: The rail's key of the intent (the 32-byte on-chain id on EVM).
    intent_ref: Mapped[bytes] = mapped_column(LargeBinary)
    payment_intent_id: Mapped[str | None] = mapped_column(ForeignKey("payment_intents.id"))
    merchant_id: Mapped[str | None] = mapped_column(ForeignKey("merchants.id"))
    #: The chain's transaction id (0x-hex hash, base58 signature, …).
    tx_id: Mapped[str] = mapped_column(String(200))
    #: Position in the block (as the node reports it; changes when the transaction moves).
    block_index: Mapped[int]
    #: Position among the transaction's entries: stable across re-inclusion (part of the key).
    tx_index: Mapped[int]
    #: Block number, slot, … of the block that holds it.
    height: Mapped[int] = mapped_column(BigInteger)
    block_id: Mapped[str] = mapped_column(String(200))
    block_time: Mapped[datetime]
    payer: Mapped[str | None] = mapped_column(String(200))
    #: Recipient of the remainder (received, captured).
    merchant: Mapped[str | None] = mapped_column(String(200))
    #: Asset moved (token, mint, contract); None for the native coin.
    asset: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(Money)
    merchant_amount: Mapped[int | None] = mapped_column(Money)
    #: [{"recipient": "0x…", "amount": "<base units>"}] in split order (received, captured).
    fee_amounts: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    #: The chain's running total where it reports one (escrow totals).
    total: Mapped[int | None] = mapped_column(Money)
    #: The rail's judgement of the payment where it judges one (Solana: paid, overpaid, underpaid,
    #: split_mismatch, wrong_asset, …; see docs/solana.md); None for rails whose contract enforces it.
    verdict: Mapped[str | None] = mapped_column(String(32))
    #: The payment arrived after the intent's expiry (recorded, never dropped); None when not judged.
    late: Mapped[bool | None]
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
    #: Where a follower that pages by transaction rather than by block range stands (Stacks: the id of
    #: the newest contract transaction stored); None for block-range followers.
    cursor: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SolanaCursor(Base):
    """The newest signature the Solana indexer read on each account it follows (a merchant's wallet
    or USDC token account), committed with the ledger entries it led to (indexer/solana.py)."""

    __tablename__ = "solana_cursors"

    network: Mapped[str] = mapped_column(String(40), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    signature: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
