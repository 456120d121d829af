"""Keyset (cursor) pagination, newest first, over an ordered pair of columns (time, unique id).

Stripe-style lists: `starting_after` gives the page older than a cursor, `ending_before` the page newer
than it (returned newest first too). One extra row is fetched to tell whether more exist. The
cursor is a row comparison, `(time, id) < (t, i)`, which PostgreSQL turns into one index range scan.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from sluice.errors import InvalidRequestError, NotFoundError


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


async def cursor_page(
    session: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    model: Any,
    *,
    merchant_id: str,
    object_name: str,
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
    time_col: InstrumentedAttribute[Any] | None = None,
    int_prefix: str | None = None,
) -> tuple[list[Any], bool]:
    """A Stripe-style list page of `model` rows keyed on (`time_col`, default `created_at`; `id`): the
    cursors are object ids of the same merchant; another merchant's id, or an unknown one, is a 404
    naming the parameter. Models with integer keys show them as `int_prefix` + digits (`al_42`); other
    shapes are a 400. `stmt` is already filtered and scoped."""
    if starting_after and ending_before:
        raise InvalidRequestError("give starting_after or ending_before, not both", param="ending_before")
    time_col = time_col if time_col is not None else model.created_at

    def key(object_id: str, param: str) -> Any:
        if int_prefix is None:
            return object_id
        digits = object_id.removeprefix(int_prefix)
        if not object_id.startswith(int_prefix) or not digits.isdigit():
            raise InvalidRequestError(
                f"{object_id!r} is not a {object_name} id ({int_prefix}…)",
                param=param,
                code="parameter_invalid",
            )
        return int(digits)

    async def position(object_id: str | None, param: str) -> tuple[Any, Any] | None:
        if object_id is None:
            return None
        row = (
            await session.execute(
                select(time_col, model.id).where(
                    model.id == key(object_id, param), model.merchant_id == merchant_id
                )
            )
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"no such {object_name}: {object_id!r}", param=param)
        return row[0], row[1]

    return await keyset_page(
        session,
        stmt,
        time_col,
        model.id,
        limit=limit,
        after=await position(starting_after, "starting_after"),
        before=await position(ending_before, "ending_before"),
    )
