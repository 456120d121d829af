"""Writing audit rows; the caller's transaction commits (or rolls back) them with the change itself."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sluice.models.audit import AuditLog


async def record(
    session: AsyncSession,
    *,
    merchant_id: str,
    api_key_id: str | None,
    action: str,
    object_id: str | None,
    ip: str | None,
    request_id: str | None,
    status_code: int | None,
) -> AuditLog:
    """Adds one audit row to the session's transaction, flushed so that a bad value fails here."""
    entry = AuditLog(
        merchant_id=merchant_id,
        api_key_id=api_key_id,
        action=action,
        object_id=object_id,
        ip=ip,
        request_id=request_id,
        status_code=status_code,
    )
    session.add(entry)
    await session.flush()
    return entry
