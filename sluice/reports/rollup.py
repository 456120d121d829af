"""Balances and summaries from the daily rollups (`report_daily`, `report_daily_fiat`), which
database triggers keep equal to the canonical events: a few hundred rows per asset and year instead
of one row per payment. Used whenever the filters fall on whole UTC days and do not need the
intents' status (sluice.reports.queries falls back to the events otherwise)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.models.reports import ReportDaily, ReportDailyFiat
from sluice.reports.filters import ReportFilters


def _midnight(value: datetime) -> bool:
    return value.astimezone(UTC).timetz().replace(tzinfo=None) == time(0)


_LAST_SECOND = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def day_range(filters: ReportFilters) -> tuple[date | None, date | None] | None:
    """The whole UTC days the filters cover, or None when a bound falls inside a day (or the status
    filter needs the intents)."""
    if filters.status is not None:
        return None
    first = last = None
    if filters.created_gte is not None:
        if not _midnight(filters.created_gte):
            return None
        first = filters.created_gte.astimezone(UTC).date()
    if filters.created_lte is not None and filters.created_lte >= _LAST_SECOND:
        last = date.max  # the last second a datetime holds: the day is whole (and has no day after)
    elif filters.created_lte is not None:
        after = filters.created_lte + timedelta(seconds=1)
        if not _midnight(after):
            return None
        last = (after.astimezone(UTC) - timedelta(days=1)).date()
    return first, last


def _where(
    stmt: Any, model: Any, merchant_id: str, filters: ReportFilters, days: tuple[date | None, date | None]
) -> Any:
    stmt = stmt.where(model.merchant_id == merchant_id)
    stmt = stmt.where(model.network.in_(filters.networks))
    if model is ReportDaily and filters.asset is not None:
        token = filters.asset.token
        stmt = stmt.where(func.lower(ReportDaily.token) == (token.lower() if token else ""))
    if days[0] is not None:
        stmt = stmt.where(model.day >= days[0])
    if days[1] is not None:
        stmt = stmt.where(model.day <= days[1])
    return stmt


async def _nonzero(session: AsyncSession, stmt: Any, keys: int) -> list[tuple[Any, ...]]:
    """Rows whose sums are not all zero (a rolled-back day leaves zeros), with the sums as ints and
    the rollup's '' token as None; the token is the last of the `keys` leading columns."""
    out = []
    for row in await session.execute(stmt):
        sums = tuple(int(v) for v in row[keys:])
        if any(sums):
            out.append((*row[: keys - 1], row[keys - 1] or None, *sums))
    return out


async def balance_rows(
    session: AsyncSession, merchant_id: str, filters: ReportFilters, days: tuple[date | None, date | None]
) -> list[tuple[Any, ...]]:
    """(network, token, received, captured, in_escrow, returned, fees, net, payments) per asset."""
    d = ReportDaily
    stmt = (
        select(
            d.network,
            d.token,
            func.sum(d.received),
            func.sum(d.captured),
            func.sum(d.deposited) - func.sum(d.captured) - func.sum(d.returned),
            func.sum(d.returned),
            func.sum(d.fees),
            func.sum(d.net),
            func.sum(d.payments),
        )
        .group_by(d.network, d.token)
        .order_by(d.network, d.token)
    )
    return await _nonzero(session, _where(stmt, d, merchant_id, filters, days), keys=2)


async def period_rows(
    session: AsyncSession,
    merchant_id: str,
    filters: ReportFilters,
    days: tuple[date | None, date | None],
    interval: str,
) -> list[tuple[Any, ...]]:
    """(period start, network, token, gross, fees, net, refunded, payments) per period and asset."""
    d = ReportDaily
    bucket = func.date_trunc(interval, d.day).label("bucket")
    stmt = (
        select(
            bucket,
            d.network,
            d.token,
            func.sum(d.received),
            func.sum(d.fees),
            func.sum(d.net),
            func.sum(d.returned),
            func.sum(d.payments),
        )
        .group_by(bucket, d.network, d.token)
        .order_by(bucket, d.network, d.token)
    )
    rows = await _nonzero(session, _where(stmt, d, merchant_id, filters, days), keys=3)
    return [(r[0].replace(tzinfo=UTC), *r[1:]) for r in rows]


async def fiat_rows(
    session: AsyncSession,
    merchant_id: str,
    filters: ReportFilters,
    days: tuple[date | None, date | None],
    interval: str,
) -> list[tuple[Any, ...]]:
    """(period start, currency, amount); the fiat rollup has no asset, so callers filtering by asset
    read the events instead."""
    f = ReportDailyFiat
    bucket = func.date_trunc(interval, f.day).label("bucket")
    stmt = (
        select(bucket, f.currency, func.sum(f.amount))
        .group_by(bucket, f.currency)
        .order_by(bucket, f.currency)
    )
    rows = await session.execute(_where(stmt, f, merchant_id, filters, days))
    return [(r[0].replace(tzinfo=UTC), r[1], r[2]) for r in rows if r[2] != 0]


async def confirmation_stats(
    session: AsyncSession, merchant_id: str, filters: ReportFilters, days: tuple[date | None, date | None]
) -> tuple[float | None, int]:
    d = ReportDaily
    stmt = select(func.sum(d.confirmation_seconds), func.sum(d.confirmations))
    row = (await session.execute(_where(stmt, d, merchant_id, filters, days))).one()
    count = int(row[1] or 0)
    return (round(float(row[0]) / count, 3) if count else None), count
