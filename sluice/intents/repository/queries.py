"""The reads of payment intents inside an ORM session (the API's and the dashboard's transactions),
as IntentRecords: the same SELECT list as `RECORD_SELECT` (Money and JSON as text), decoded by the same
`record_of`. Every query is scoped to one merchant, except the checkout's (its client secret is the
scope, checked by the caller).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import cursor_page
from sluice.intents.record import RECORD_COLUMNS, IntentRecord, record_of
from sluice.models.payment_intent import PaymentIntent, PaymentIntentStatus


@cache
def _columns() -> tuple[ColumnElement[Any], ...]:
    table = PaymentIntent.__table__
    return tuple(
        cast(table.c[name], Text).label(name) if kind is not None else table.c[name]
        for name, kind in RECORD_COLUMNS
    )


def select_records(*extra: Any) -> Select[Any]:
    """SELECT of IntentRecord rows (then `extra` columns); add the WHERE clauses, run, `records`."""
    return select(*_columns(), *extra)


def records(rows: Sequence[Any]) -> list[IntentRecord]:
    return [record_of(row) for row in rows]


_N = len(RECORD_COLUMNS)


async def get(
    session: AsyncSession, merchant_id: str, intent_id: str, *, lock: bool = False
) -> IntentRecord | None:
    """The merchant's intent, row-locked for the transaction with `lock` (its operations)."""
    stmt = select_records().where(PaymentIntent.id == intent_id, PaymentIntent.merchant_id == merchant_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).one_or_none()
    return None if row is None else record_of(row)


async def get_any(
    session: AsyncSession, intent_id: str, *extra: Any, join: Any = None
) -> tuple[IntentRecord, tuple[Any, ...]] | None:
    """Any merchant's intent by id (the checkout: the client secret is the caller's scope), with the
    `extra` columns of its merchant when `join` is the Merchant model; None if there is none."""
    stmt = select_records(*extra).where(PaymentIntent.id == intent_id)
    if join is not None:
        stmt = stmt.join(join, join.id == PaymentIntent.merchant_id)
    row = (await session.execute(stmt)).one_or_none()
    if row is None:
        return None
    return record_of(row[:_N]), tuple(row[_N:])


async def page(
    session: AsyncSession,
    merchant_id: str,
    *,
    livemode: bool,
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
    status: PaymentIntentStatus | None = None,
    created_gte: datetime | None = None,
    created_lte: datetime | None = None,
) -> tuple[list[IntentRecord], bool]:
    """Newest first, keyset-paginated on (created_at, id); returns the page and whether more exist."""
    stmt = select_records().where(
        PaymentIntent.merchant_id == merchant_id, PaymentIntent.livemode == livemode
    )
    if status is not None:
        stmt = stmt.where(PaymentIntent.status == status)
    if created_gte is not None:
        stmt = stmt.where(PaymentIntent.created_at >= created_gte)
    if created_lte is not None:
        stmt = stmt.where(PaymentIntent.created_at <= created_lte)
    rows, has_more = await cursor_page(
        session,
        stmt,
        PaymentIntent,
        merchant_id=merchant_id,
        object_name="payment_intent",
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return records(rows), has_more
