"""Reporting tables and indexes: reconciliation runs (the books checked against the chain itself) and
the covering index the report pages read the indexer's events through."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, Index, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, Money, TimestampMixin
from sluice.ids import new_id
from sluice.models.chain import LedgerRow


class ReconciliationRun(TimestampMixin, Base):
    __tablename__ = "reconciliation_runs"
    __table_args__ = (Index("ix_reconciliation_runs_network_created", "network", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rcn"))
    network: Mapped[str] = mapped_column(String(40))
    from_block: Mapped[int] = mapped_column(BigInteger)
    to_block: Mapped[int] = mapped_column(BigInteger)
    #: "clean" or "mismatch"
    status: Mapped[str] = mapped_column(String(16))
    chain_events: Mapped[int]
    db_events: Mapped[int]
    #: [{"merchant_id", "token", "name", "chain": "<sum>", "database": "<sum>"}] per merchant, asset, kind.
    totals: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    #: [{"kind": "missing"|"extra"|"amount_differs"|"intent_differs", "merchant_id", ...}]
    mismatches: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    finished_at: Mapped[datetime | None]


#: Report pages: a merchant's events newest first, the id as keyset tie-breaker; the included columns
#: let the payments page and the summary's scan skip the heap for filtering.
REPORT_INDEX = Index(
    "ix_ledger_entries_report",
    LedgerRow.merchant_id,
    LedgerRow.block_time,
    LedgerRow.id,
    postgresql_include=[
        "kind",
        "reason",
        "network",
        "asset",
        "amount",
        "merchant_amount",
        "payment_intent_id",
    ],
)


class ReportDaily(Base):
    """Per merchant, network, token and UTC day of block time: the sums the summary and balance
    reports read. Kept exact by statement-level triggers on `ledger_entries` (insert adds, delete —
    a reorg's rollback — subtracts, update does both) in the indexer's own transaction."""

    __tablename__ = "report_daily"

    merchant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    network: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: Token address, '' for the native coin (part of the key, so never NULL).
    token: Mapped[str] = mapped_column(String(200), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Money, default=0)  # received + escrow_deposited entries
    deposited: Mapped[int] = mapped_column(Money, default=0)
    captured: Mapped[int] = mapped_column(Money, default=0)
    returned: Mapped[int] = mapped_column(Money, default=0)  # refunded + released
    fees: Mapped[int] = mapped_column(Money, default=0)  # (received, captured) amount - merchant_amount
    net: Mapped[int] = mapped_column(Money, default=0)  # (received, captured) merchant_amount
    payments: Mapped[int] = mapped_column(BigInteger, default=0)  # count of received + escrow_deposited
    #: Payments of that day currently confirmed: seconds from block to the confirming event (summed).
    confirmation_seconds: Mapped[Decimal] = mapped_column(Numeric, default=0)
    confirmations: Mapped[int] = mapped_column(BigInteger, default=0)


class ReportDailyFiat(Base):
    """Per merchant, network, UTC day and quote currency: payments' share of their intents' quoted
    price."""

    __tablename__ = "report_daily_fiat"

    merchant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    network: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric, default=0)


class ReportConfirmation(Base):
    """How long each currently confirmed payment took from its block to the event announcing it;
    removed by `payment_intent.reverted` (triggers on `events` keep it and report_daily in step)."""

    __tablename__ = "report_confirmations"

    payment_intent_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(String(40))
    network: Mapped[str] = mapped_column(String(40))
    token: Mapped[str] = mapped_column(String(200))
    day: Mapped[date] = mapped_column(Date)
    seconds: Mapped[Decimal] = mapped_column(Numeric)
