"""Sweeps of deposit addresses (sluice.deposits.sweeper): one row per sweep transaction, one per intent in it.

The transaction row is written, signed, before it is sent (status `planned`, with the raw signed
transaction), so a crash between sending and recording is reconciled from the chain on restart: the
same signed transaction (same nonce) is looked up or sent again, never a second one for the same funds.
The gas each intent's share cost is recorded with the relayer's other transactions (`relay_transactions`,
action `sweep`), the one record of what the operator paid per intent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sluice.clock import utcnow
from sluice.db.base import Base, Money


class SweepTxStatus(StrEnum):
    """Where a sweep transaction is."""

    #: Signed and recorded, maybe sent (a crash may have come between): reconciled from the chain.
    planned = "planned"
    #: Accepted by the node, not yet in a block.
    sent = "sent"
    #: In a block, not yet final (a reorganisation sends it back to `sent`).
    mined = "mined"
    #: In a block at the network's finality depth.
    confirmed = "confirmed"
    #: Mined and reverted: its intents are swept again by a new transaction.
    failed = "failed"
    #: Can never be mined (its nonce went to another transaction): its intents are swept again.
    dropped = "dropped"


class SweepOutcome(StrEnum):
    """What one sweep transaction did for one intent."""

    #: Its transaction is not mined (or was reorganised out).
    pending = "pending"
    #: The factory emitted `Swept` for the intent.
    swept = "swept"
    #: The factory emitted `SweepSkipped` (the address held less than the amount, or a transfer failed).
    skipped = "skipped"
    #: Its transaction failed or was dropped.
    failed = "failed"


#: Outcomes that hold an intent's funds: at most one row per intent may be in one of them.
LIVE_OUTCOMES = (SweepOutcome.pending, SweepOutcome.swept)


class DepositSweepTx(Base):
    """One sweep transaction sent by the relayer (a batch of deposit addresses)."""

    __tablename__ = "deposit_sweep_txs"
    __table_args__ = (Index("ix_deposit_sweep_txs_network_status", "network", "status"),)

    #: The hash of the first signed version (the row's id).
    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    network: Mapped[str] = mapped_column(String(40))
    sender: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    #: Hashes of every signed version, in order (a stuck one is replaced: same nonce, higher fee).
    versions: Mapped[list[str]] = mapped_column(ARRAY(String(66)), default=list)
    #: The last signed version, sent again as it is when the node lost it (same hash, same nonce).
    raw_tx: Mapped[bytes] = mapped_column(LargeBinary)
    #: The last version's unsigned fields (to replace it with a higher fee after a restart).
    unsigned_tx: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    status: Mapped[SweepTxStatus] = mapped_column(String(16))
    #: Deposit addresses in the batch.
    size: Mapped[int]
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    #: effectiveGasPrice of the receipt, wei.
    gas_price: Mapped[int | None] = mapped_column(Money)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DepositSweep(Base):
    """One intent's deposit address in one sweep transaction (its share of the gas: relay_transactions)."""

    __tablename__ = "deposit_sweeps"
    __table_args__ = (
        # Never two live sweeps of the same intent's funds.
        Index(
            "uq_deposit_sweeps_live_intent",
            "payment_intent_id",
            unique=True,
            postgresql_where=text("outcome IN ('pending', 'swept')"),
        ),
        Index("ix_deposit_sweeps_tx_hash", "tx_hash"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id", ondelete="CASCADE"))
    tx_hash: Mapped[str] = mapped_column(ForeignKey("deposit_sweep_txs.tx_hash", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(40))
    deposit_address: Mapped[str] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(Money)
    outcome: Mapped[SweepOutcome] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
