"""Report queries over the ledger's canonical entries, whatever the rail; every query is scoped to one
merchant and to the networks of the caller's mode. Amounts stay integers (NUMERIC sums) end to end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sluice.db.pagination import cursor_page
from sluice.models.chain import IndexerState, LedgerRow
from sluice.models.event import Event
from sluice.models.payment_intent import PaymentIntent
from sluice.models.quote import Quote
from sluice.models.refund import Refund
from sluice.models.relay import RelayTransaction
from sluice.reports import rollup
from sluice.reports.filters import ReportFilters

#: Each report row type as the ledger entry kind (and a release's reason) it lists.
KIND_OF_TYPE: dict[str, tuple[str, str | None]] = {
    "payment": ("received", None),
    "escrow_deposit": ("escrow_deposited", None),
    "capture": ("captured", None),
    "refund": ("refunded", None),
    "void": ("released", "void"),
    "reclaim": ("released", "reclaimed"),
}
TYPE_OF_KIND = {v: k for k, v in KIND_OF_TYPE.items()}
#: Money in from the payer (received, deposited) and money settled to the merchant (received, captured).
PAYMENT_TYPES = ("payment", "escrow_deposit", "capture")
REFUND_TYPES = ("refund", "void", "reclaim")
ROW_PREFIX = "oce_"
#: Entry kinds: money in from the payer, money settled to the merchant, money returned to the payer.
RECEIVED_KINDS = ("received", "escrow_deposited")
SETTLED_KINDS = ("received", "captured")
RETURNED_KINDS = ("refunded", "released")


def report_type(entry: LedgerRow) -> str:
    """The report row type of a stored entry (payment, escrow_deposit, capture, refund, void, reclaim)."""
    return TYPE_OF_KIND[(entry.kind, entry.reason if entry.kind == "released" else None)]


def _of_types(types: tuple[str, ...]) -> Any:
    """The condition selecting entries of the report row `types`."""
    kinds = {KIND_OF_TYPE[t][0] for t in types}
    whole = [k for k in kinds if all(t in types for t, (kk, _) in KIND_OF_TYPE.items() if kk == k)]
    parts = [
        and_(LedgerRow.kind == kind, LedgerRow.reason == reason)
        for t in types
        for kind, reason in (KIND_OF_TYPE[t],)
        if kind not in whole
    ]
    return or_(LedgerRow.kind.in_(sorted(whole)), *parts) if parts else LedgerRow.kind.in_(sorted(whole))


def row_id(event_id: int) -> str:
    return f"{ROW_PREFIX}{event_id}"


def _scoped(
    stmt: Select[*tuple[Any, ...]], merchant_id: str, filters: ReportFilters, types: tuple[str, ...]
) -> Select[*tuple[Any, ...]]:
    stmt = stmt.where(
        LedgerRow.merchant_id == merchant_id,
        LedgerRow.network.in_(filters.networks),
        _of_types(types),
    )
    if filters.asset is not None:
        token = filters.asset.token
        stmt = stmt.where(
            LedgerRow.asset.is_(None) if token is None else func.lower(LedgerRow.asset) == token.lower()
        )
    if filters.created_gte is not None:
        stmt = stmt.where(LedgerRow.block_time >= filters.created_gte)
    if filters.created_lte is not None:
        stmt = stmt.where(LedgerRow.block_time <= filters.created_lte)
    if filters.status is not None:  # a semi-join: no intent columns needed, no join fan-out
        stmt = stmt.where(
            LedgerRow.payment_intent_id.in_(
                select(PaymentIntent.id).where(
                    PaymentIntent.merchant_id == merchant_id, PaymentIntent.status == filters.status
                )
            )
        )
    return stmt


@dataclass(frozen=True)
class EventRow:
    event: LedgerRow
    intent_status: str | None
    head_block: int | None
    splits: list[dict[str, Any]] | None
    refund_id: str | None = None
    #: native coin the gateway's relayer paid for this row: its transaction when the relayer sent it
    #: (gasless payments, captures), and for the first payment to a deposit address, the intent's
    #: share of the sweeps that moved it to the merchant
    relayer_fee: int | None = None

    @property
    def confirmations(self) -> int:
        if self.head_block is None:
            return 0
        return max(0, self.head_block - self.event.height + 1)


async def event_page(
    session: AsyncSession,
    merchant_id: str,
    filters: ReportFilters,
    types: tuple[str, ...],
    *,
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> tuple[list[EventRow], bool]:
    """One page of the merchant's entries of the report row `types`, newest block time first."""
    stmt = (
        select(
            LedgerRow,
            PaymentIntent.status,
            IndexerState.head_block,
            PaymentIntent.splits,
            Refund.id,
            _relayer_fee(),
        )
        .outerjoin(PaymentIntent, PaymentIntent.id == LedgerRow.payment_intent_id)
        .outerjoin(IndexerState, IndexerState.network == LedgerRow.network)
        .outerjoin(
            Refund,
            and_(
                Refund.tx_hash == LedgerRow.tx_id,
                Refund.payment_intent_id == LedgerRow.payment_intent_id,
                LedgerRow.kind == "refunded",
            ),
        )
        .outerjoin(
            RelayTransaction,
            and_(
                RelayTransaction.tx_hash == LedgerRow.tx_id,
                RelayTransaction.payment_intent_id == LedgerRow.payment_intent_id,
            ),
        )
    )
    stmt = _scoped(stmt, merchant_id, filters, types)
    rows, has_more = await cursor_page(
        session,
        stmt,
        LedgerRow,
        merchant_id=merchant_id,
        object_name="report row",
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        time_col=LedgerRow.block_time,
        int_prefix=ROW_PREFIX,
    )
    return [EventRow(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows], has_more


#: The rail whose payments a sweep moves on to the merchant (sluice.rails.evm_deposit).
DEPOSIT_RAIL = "evm-deposit"


def _relayer_fee() -> Any:
    """What the relayer paid for a row (relay_transactions, the one record of the operator's cost per
    intent): the relay that is the row's own transaction, plus, on the intent's first payment to its
    deposit address, the intent's shares of every sweep of that address (counted once per intent)."""
    first = aliased(LedgerRow)
    first_deposit = (
        select(func.min(first.id))
        .where(
            first.payment_intent_id == LedgerRow.payment_intent_id,
            first.rail == DEPOSIT_RAIL,
            first.kind == "received",
        )
        .scalar_subquery()
    )
    sweeps = (
        select(func.sum(RelayTransaction.fee_paid))
        .where(
            RelayTransaction.payment_intent_id == LedgerRow.payment_intent_id,
            RelayTransaction.action == "sweep",
        )
        .correlate(LedgerRow)
        .scalar_subquery()
    )
    own = RelayTransaction.fee_paid
    on_first = and_(
        LedgerRow.rail == DEPOSIT_RAIL, LedgerRow.kind == "received", LedgerRow.id == first_deposit
    )
    return case(
        (and_(on_first, sweeps.is_not(None)), func.coalesce(own, 0) + sweeps),
        else_=own,
    )


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


def _sum(condition: Any, value: Any = LedgerRow.amount) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=literal(0))), 0)


async def balances(session: AsyncSession, merchant_id: str, filters: ReportFilters) -> list[Balance]:
    """Per network and asset: received (paid + deposited), captured, still in escrow, refunded to
    payers (refunds, voids, reclaims), fees paid to split recipients, and net to the merchant."""
    days = rollup.day_range(filters)
    if days is not None:
        return [Balance(*row) for row in await rollup.balance_rows(session, merchant_id, filters, days)]
    kind = LedgerRow.kind
    settled = kind.in_(SETTLED_KINDS)
    fee = LedgerRow.amount - func.coalesce(LedgerRow.merchant_amount, 0)
    stmt = (
        select(
            LedgerRow.network,
            LedgerRow.asset,
            _sum(kind.in_(RECEIVED_KINDS)),
            _sum(kind == "captured"),
            _sum(kind == "escrow_deposited") - _sum(kind == "captured") - _sum(kind.in_(RETURNED_KINDS)),
            _sum(kind.in_(RETURNED_KINDS)),
            _sum(settled, fee),
            _sum(settled, func.coalesce(LedgerRow.merchant_amount, 0)),
            func.count().filter(kind.in_(RECEIVED_KINDS)),
        )
        .group_by(LedgerRow.network, LedgerRow.asset)
        .order_by(LedgerRow.network, LedgerRow.asset)
    )
    stmt = _scoped(stmt, merchant_id, filters, PAYMENT_TYPES + REFUND_TYPES)
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
    kind = LedgerRow.kind
    bucket = func.date_trunc(interval, func.timezone("UTC", LedgerRow.block_time)).label("bucket")
    settled = kind.in_(SETTLED_KINDS)
    stmt = (
        select(
            bucket,
            LedgerRow.network,
            LedgerRow.asset,
            _sum(kind.in_(RECEIVED_KINDS)),
            _sum(settled, LedgerRow.amount - func.coalesce(LedgerRow.merchant_amount, 0)),
            _sum(settled, func.coalesce(LedgerRow.merchant_amount, 0)),
            _sum(kind.in_(RETURNED_KINDS)),
            func.count().filter(kind.in_(RECEIVED_KINDS)),
        )
        .group_by(bucket, LedgerRow.network, LedgerRow.asset)
        .order_by(bucket, LedgerRow.network, LedgerRow.asset)
    )
    stmt = _scoped(stmt, merchant_id, filters, PAYMENT_TYPES + REFUND_TYPES)
    for r in await session.execute(stmt):
        result.periods.append(Period(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6]), int(r[7])))

    result.fiat = await _fiat_from_events(session, merchant_id, filters, interval)
    result.status_counts = await _status_counts(session, merchant_id, filters)

    # Confirmation time: from the block of an intent's first payment event to the event that
    # announced it confirmed (payment_intent.succeeded or .requires_capture).
    firsts = select(
        LedgerRow.payment_intent_id.label("intent"), func.min(LedgerRow.block_time).label("at")
    ).group_by(LedgerRow.payment_intent_id)
    first_block = _scoped(
        firsts,
        merchant_id,
        filters,
        ("payment", "escrow_deposit"),
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
    bucket = func.date_trunc(interval, func.timezone("UTC", LedgerRow.block_time)).label("bucket")
    fiat = func.sum(Quote.fiat_amount * LedgerRow.amount / PaymentIntent.amount)
    stmt = (
        select(bucket, Quote.currency, fiat)
        .join(PaymentIntent, PaymentIntent.id == LedgerRow.payment_intent_id)
        .join(Quote, Quote.id == PaymentIntent.quote_id)
        .group_by(bucket, Quote.currency)
        .order_by(bucket, Quote.currency)
    )
    stmt = _scoped(stmt, merchant_id, filters, ("payment", "escrow_deposit"))
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
