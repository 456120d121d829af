"""Writing audit rows; the caller's transaction commits (or rolls back) them with the change itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sluice.ids import new_id
from sluice.models.audit import AuditLog


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Where a mutating call came from: what its audit row records besides who, what and on which object
    (for writers that insert the row themselves, see sluice.intents.repository.create)."""

    ip: str | None
    request_id: str | None
    status_code: int

    def row(
        self, *, merchant_id: str, api_key_id: str | None, action: str, object_id: str | None, at: datetime
    ) -> dict[str, Any]:
        """The audit_logs row by column name, as `record` would write it."""
        return {
            "id": new_id("al"),
            "merchant_id": merchant_id,
            "api_key_id": api_key_id,
            "action": action,
            "object_id": object_id,
            "ip": self.ip,
            "request_id": self.request_id,
            "status_code": self.status_code,
            "created_at": at,
        }


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
    user_id: str | None = None,
) -> AuditLog:
    """Adds one audit row to the session's transaction, flushed so that a bad value fails here."""
    entry = AuditLog(
        id=new_id("al"),
        merchant_id=merchant_id,
        api_key_id=api_key_id,
        action=action,
        object_id=object_id,
        ip=ip,
        request_id=request_id,
        status_code=status_code,
        user_id=user_id,
    )
    session.add(entry)
    await session.flush()
    return entry
