"""Keyset (cursor) pagination, newest first, over an ordered pair of columns (time, unique id).

Stripe-style lists: `starting_after` gives the page older than a cursor, `ending_before` the page newer
than it (returned newest first too). One extra row is fetched to tell whether more exist. The
cursor is a row comparison, `(time, id) < (t, i)`, which PostgreSQL turns into one index range scan.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def keyset_page(
    session: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    time_col: InstrumentedAttribute[Any],
    id_col: InstrumentedAttribute[Any],
    *,
    limit: int,
    after: tuple[Any, Any] | None = None,
    before: tuple[Any, Any] | None = None,
) -> tuple[list[Any], bool]:
    """Runs `stmt` (already filtered and scoped to one merchant) for one page; (rows, has_more).

    Rows are scalars when the statement selects one entity, else Row tuples."""
    if after is not None:  # older than the cursor
        stmt = stmt.where(tuple_(time_col, id_col) < tuple_(literal(after[0]), literal(after[1])))
        stmt = stmt.order_by(time_col.desc(), id_col.desc())
    elif before is not None:  # newer than the cursor: fetched oldest first, then reversed
        stmt = stmt.where(tuple_(time_col, id_col) > tuple_(literal(before[0]), literal(before[1])))
        stmt = stmt.order_by(time_col.asc(), id_col.asc())
    else:
        stmt = stmt.order_by(time_col.desc(), id_col.desc())
    result = await session.execute(stmt.limit(limit + 1))
    rows: list[Any] = list(result.scalars()) if len(stmt.column_descriptions) == 1 else list(result.all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    return rows, has_more
