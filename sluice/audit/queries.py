"""Reading a merchant's audit log (GET /v1/audit_logs); every query is scoped to one merchant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import keyset_page
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.models.audit import AuditLog
from sluice.models.merchant import ApiKey

PREFIX = "al_"


def public_id(entry: AuditLog) -> str:
    return f"{PREFIX}{entry.id}"


def _parse_id(value: str, param: str) -> int:
    if not value.startswith(PREFIX) or not value[len(PREFIX) :].isdigit():
        raise InvalidRequestError(
            f"{value!r} is not an audit log id (al_…)", param=param, code="parameter_invalid"
        )
    return int(value[len(PREFIX) :])


async def _cursor(session: AsyncSession, merchant_id: str, value: str, param: str) -> tuple[datetime, int]:
    entry_id = _parse_id(value, param)
    row = (
        await session.execute(
            select(AuditLog.created_at, AuditLog.id).where(
                AuditLog.id == entry_id, AuditLog.merchant_id == merchant_id
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"no such audit log: {value!r}", param=param)
    return row[0], row[1]


async def list_audit_logs(
    session: AsyncSession,
    merchant_id: str,
    *,
    limit: int,
    starting_after: str | None = None,
    ending_before: str | None = None,
    action: str | None = None,
    object_id: str | None = None,
    created_gte: datetime | None = None,
    created_lte: datetime | None = None,
) -> tuple[list[tuple[AuditLog, str | None]], bool]:
    """Newest first, each row with the visible prefix of the key that acted; filters by action (exact,
    or a prefix ending in `.`), object and time."""
    if starting_after and ending_before:
        raise InvalidRequestError("give starting_after or ending_before, not both", param="ending_before")
    stmt = (
        select(AuditLog, ApiKey.prefix)
        .outerjoin(ApiKey, ApiKey.id == AuditLog.api_key_id)
        .where(AuditLog.merchant_id == merchant_id)
    )
    if action:
        stmt = stmt.where(
            AuditLog.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditLog.action == action
        )
    if object_id:
        stmt = stmt.where(AuditLog.object_id == object_id)
    if created_gte is not None:
        stmt = stmt.where(AuditLog.created_at >= created_gte)
    if created_lte is not None:
        stmt = stmt.where(AuditLog.created_at <= created_lte)
    after = await _cursor(session, merchant_id, starting_after, "starting_after") if starting_after else None
    before = await _cursor(session, merchant_id, ending_before, "ending_before") if ending_before else None
    rows, has_more = await keyset_page(
        session, stmt, AuditLog.created_at, AuditLog.id, limit=limit, after=after, before=before
    )
    return [(row[0], row[1]) for row in rows], has_more
