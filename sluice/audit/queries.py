"""Reading a merchant's audit log (GET /v1/audit_logs); every query is scoped to one merchant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import cursor_page
from sluice.models.audit import AuditLog
from sluice.models.merchant import ApiKey


def public_id(entry: AuditLog) -> str:
    """The id a merchant sees: the row's own (`al_…`, random)."""
    return entry.id


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
    rows, has_more = await cursor_page(
        session,
        stmt,
        AuditLog,
        merchant_id=merchant_id,
        object_name="audit log",
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return [(row[0], row[1]) for row in rows], has_more
