"""Report queries over the indexer's canonical events; every query is scoped to one merchant and to
the networks of the caller's mode. Amounts stay integers (NUMERIC sums) end to end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Select, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import cursor_page
from sluice.models.chain import IndexerState, OnchainEvent
from sluice.models.event import Event
from sluice.models.payment_intent import PaymentIntent
from sluice.models.quote import Quote
from sluice.models.refund import Refund
from sluice.reports import rollup
from sluice.reports.filters import ReportFilters

#: Money in from the payer (Paid, Deposited) and money settled to the merchant (Paid, Captured).
PAYMENT_EVENTS = ("Paid", "Deposited", "Captured")
REFUND_EVENTS = ("Refunded", "Voided", "Reclaimed")
ROW_PREFIX = "oce_"

TYPE_OF_EVENT: dict[str, str] = {
    "Paid": "payment",
    "Deposited": "escrow_deposit",
    "Captured": "capture",
    "Refunded": "refund",
    "Voided": "void",
    "Reclaimed": "reclaim",
}
EVENT_OF_TYPE = {v: k for k, v in TYPE_OF_EVENT.items()}


def row_id(event_id: int) -> str:
    return f"{ROW_PREFIX}{event_id}"


def _scoped(
    stmt: Select[*tuple[Any, ...]], merchant_id: str, filters: ReportFilters, names: tuple[str, ...]
) -> Select[*tuple[Any, ...]]:
    stmt = stmt.where(
        OnchainEvent.merchant_id == merchant_id,
        OnchainEvent.network.in_(filters.networks),
        OnchainEvent.name.in_(names),
    )
    if filters.asset is not None:
        token = filters.asset.token
        stmt = stmt.where(
            OnchainEvent.token.is_(None) if token is None else func.lower(OnchainEvent.token) == token.lower()
        )
    if filters.created_gte is not None:
        stmt = stmt.where(OnchainEvent.block_time >= filters.created_gte)
    if filters.created_lte is not None:
        stmt = stmt.where(OnchainEvent.block_time <= filters.created_lte)
    if filters.status is not None:  # a semi-join: no intent columns needed, no join fan-out
        stmt = stmt.where(
            OnchainEvent.payment_intent_id.in_(
                select(PaymentIntent.id).where(
                    PaymentIntent.merchant_id == merchant_id, PaymentIntent.status == filters.status
                )
            )
        )
    return stmt


@dataclass(frozen=True)
class EventRow:
    event: OnchainEvent
    intent_status: str | None
    head_block: int | None
    splits: list[dict[str, Any]] | None
    refund_id: str | None = None

    @property
    def confirmations(self) -> int:
        if self.head_block is None:
            return 0
        return max(0, self.head_block - self.event.block_number + 1)


async def event_page(
    session: AsyncSession,
    merchant_id: str,
    filters: ReportFilters,
    names: tuple[str, ...],
    *,
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> tuple[list[EventRow], bool]:
    """One page of the merchant's events of kinds `names`, newest block time first."""
    stmt = (
        select(OnchainEvent, PaymentIntent.status, IndexerState.head_block, PaymentIntent.splits, Refund.id)
        .outerjoin(PaymentIntent, PaymentIntent.id == OnchainEvent.payment_intent_id)
        .outerjoin(IndexerState, IndexerState.network == OnchainEvent.network)
        .outerjoin(
            Refund,
            and_(
                Refund.tx_hash == OnchainEvent.tx_hash,
                Refund.payment_intent_id == OnchainEvent.payment_intent_id,
                OnchainEvent.name == "Refunded",
            ),
        )
    )
    stmt = _scoped(stmt, merchant_id, filters, names)
    rows, has_more = await cursor_page(
        session,
        stmt,
        OnchainEvent,
        merchant_id=merchant_id,
        object_name="report row",
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        time_col=OnchainEvent.block_time,
        int_prefix=ROW_PREFIX,
    )
    return [EventRow(r[0], r[1], r[2], r[3], r[4]) for r in rows], has_more


# ------------------------------------------------------------------------------------------ balances


@dataclass
class Balance:
    network: str
    token: str | None
    received: int = 0
    captured: int = 0
    in_escrow: int = 0
    refunded: int = 0
    fees: int = 0
    net: int = 0
    payments: int = 0


def _sum(condition: Any, value: Any = OnchainEvent.amount) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=literal(0))), 0)


async def balances(session: AsyncSession, merchant_id: str, filters: ReportFilters) -> list[Balance]:
    """Per network and asset: received (paid + deposited), captured, still in escrow, refunded to
    payers (refunds, voids, reclaims), fees paid to split recipients, and net to the merchant."""
    days = rollup.day_range(filters)
    if days is not None:
        return [Balance(*row) for row in await rollup.balance_rows(session, merchant_id, filters, days)]
    name = OnchainEvent.name
    settled = name.in_(("Paid", "Captured"))
    fee = OnchainEvent.amount - func.coalesce(OnchainEvent.merchant_amount, 0)
    stmt = (
        select(
            OnchainEvent.network,
            OnchainEvent.token,
            _sum(name.in_(("Paid", "Deposited"))),
            _sum(name == "Captured"),
            _sum(name == "Deposited") - _sum(name == "Captured") - _sum(name.in_(REFUND_EVENTS)),
            _sum(name.in_(REFUND_EVENTS)),
            _sum(settled, fee),
            _sum(settled, func.coalesce(OnchainEvent.merchant_amount, 0)),
            func.count().filter(name.in_(("Paid", "Deposited"))),
        )
        .group_by(OnchainEvent.network, OnchainEvent.token)
        .order_by(OnchainEvent.network, OnchainEvent.token)
    )
    stmt = _scoped(stmt, merchant_id, filters, PAYMENT_EVENTS + REFUND_EVENTS)
    return [
        Balance(r[0], r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7]), int(r[8]))
        for r in await session.execute(stmt)
    ]


# ------------------------------------------------------------------------------------------- summary

Interval = Literal["day", "week", "month"]


@dataclass
class Period:
    start: datetime
    network: str
    token: str | None
    gross: int
    fees: int
    net: int
    refunded: int
    payments: int


@dataclass
class FiatTotal:
    start: datetime
    currency: str
    amount: Any  # Decimal


@dataclass
class Summary:
    periods: list[Period] = field(default_factory=list)
    fiat: list[FiatTotal] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)
    average_confirmation_seconds: float | None = None
    confirmed_payments: int = 0


async def summary(
    session: AsyncSession, merchant_id: str, filters: ReportFilters, interval: Interval
) -> Summary:
    """Totals per period (UTC day, ISO week or month) and asset, their value in the quotes' fiat,
    intent counts by status, and the average time from a payment's block to its confirmation.

    Whole-day ranges without a status filter read the daily rollups; anything finer reads the events.
    """
    result = Summary()
    days = rollup.day_range(filters)
    if days is not None:
        result.periods = [
            Period(*r) for r in await rollup.period_rows(session, merchant_id, filters, days, interval)
        ]
        if filters.asset is None:
            result.fiat = [
                FiatTotal(*r) for r in await rollup.fiat_rows(session, merchant_id, filters, days, interval)
            ]
        else:
            result.fiat = await _fiat_from_events(session, merchant_id, filters, interval)
        stats = await rollup.confirmation_stats(session, merchant_id, filters, days)
        result.average_confirmation_seconds, result.confirmed_payments = stats
        result.status_counts = await _status_counts(session, merchant_id, filters)
        return result
    name = OnchainEvent.name
    bucket = func.date_trunc(interval, func.timezone("UTC", OnchainEvent.block_time)).label("bucket")
    settled = name.in_(("Paid", "Captured"))
    stmt = (
        select(
            bucket,
            OnchainEvent.network,
            OnchainEvent.token,
            _sum(name.in_(("Paid", "Deposited"))),
            _sum(settled, OnchainEvent.amount - func.coalesce(OnchainEvent.merchant_amount, 0)),
            _sum(settled, func.coalesce(OnchainEvent.merchant_amount, 0)),
            _sum(name.in_(REFUND_EVENTS)),
            func.count().filter(name.in_(("Paid", "Deposited"))),
        )
        .group_by(bucket, OnchainEvent.network, OnchainEvent.token)
        .order_by(bucket, OnchainEvent.network, OnchainEvent.token)
    )
    stmt = _scoped(stmt, merchant_id, filters, PAYMENT_EVENTS + REFUND_EVENTS)
    for r in await session.execute(stmt):
        result.periods.append(Period(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7])))

    result.fiat = await _fiat_from_events(session, merchant_id, filters, interval)
    result.status_counts = await _status_counts(session, merchant_id, filters)

    # Confirmation time: from the block of an intent's first payment event to the event that
    # announced it confirmed (payment_intent.succeeded or .requires_capture).
    firsts = select(
        OnchainEvent.payment_intent_id.label("intent"), func.min(OnchainEvent.block_time).label("at")
    ).group_by(OnchainEvent.payment_intent_id)
    first_block = _scoped(
        firsts,
        merchant_id,
        filters,
        ("Paid", "Deposited"),
    ).subquery()
    confirmed = (
        select(Event.object_id.label("intent"), func.min(Event.created_at).label("at"))
        .where(
            Event.merchant_id == merchant_id,
            Event.type.in_(("payment_intent.succeeded", "payment_intent.requires_capture")),
        )
        .group_by(Event.object_id)
        .subquery()
    )
    delay = func.extract("epoch", confirmed.c.at - first_block.c.at)
    avg_row = (
        await session.execute(
            select(func.avg(delay), func.count()).select_from(
                first_block.join(confirmed, confirmed.c.intent == first_block.c.intent)
            )
        )
    ).one()
    result.average_confirmation_seconds = None if avg_row[0] is None else round(float(avg_row[0]), 3)
    result.confirmed_payments = int(avg_row[1])
    return result


async def _fiat_from_events(
    session: AsyncSession, merchant_id: str, filters: ReportFilters, interval: Interval
) -> list[FiatTotal]:
    """Each payment's share of its intent's quoted price, summed per period and currency (exact
    decimal arithmetic in SQL)."""
    bucket = func.date_trunc(interval, func.timezone("UTC", OnchainEvent.block_time)).label("bucket")
    fiat = func.sum(Quote.fiat_amount * OnchainEvent.amount / PaymentIntent.amount)
    stmt = (
        select(bucket, Quote.currency, fiat)
        .join(PaymentIntent, PaymentIntent.id == OnchainEvent.payment_intent_id)
        .join(Quote, Quote.id == PaymentIntent.quote_id)
        .group_by(bucket, Quote.currency)
        .order_by(bucket, Quote.currency)
    )
    stmt = _scoped(stmt, merchant_id, filters, ("Paid", "Deposited"))
    return [FiatTotal(r[0].replace(tzinfo=UTC), r[1], r[2]) for r in await session.execute(stmt)]


async def _status_counts(session: AsyncSession, merchant_id: str, filters: ReportFilters) -> dict[str, int]:
    """Intents by status, created in the range (ix_payment_intents_merchant_status serves it)."""
    counts = select(PaymentIntent.status, func.count()).where(
        PaymentIntent.merchant_id == merchant_id, PaymentIntent.network.in_(filters.networks)
    )
    if filters.asset is not None:
        counts = counts.where(PaymentIntent.asset == filters.asset.symbol)
    if filters.created_gte is not None:
        counts = counts.where(PaymentIntent.created_at >= filters.created_gte)
    if filters.created_lte is not None:
        counts = counts.where(PaymentIntent.created_at <= filters.created_lte)
    if filters.status is not None:
        counts = counts.where(PaymentIntent.status == filters.status)
    return {str(s): int(n) for s, n in await session.execute(counts.group_by(PaymentIntent.status))}
