"""/v1/audit_logs: the merchant's own mutating calls — who (key), what, when, from where."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import ReadKey, Session
from api.schemas import MAX_UNIX_TIME, ListResponse, from_unix
from sluice.audit.queries import list_audit_logs, public_id
from sluice.models.audit import AuditLog

router = APIRouter(prefix="/audit_logs", tags=["audit_logs"])


class AuditLogPublic(BaseModel):
    id: str
    object: Literal["audit_log"] = "audit_log"
    action: str
    object_id: str | None
    api_key: str | None
    api_key_prefix: str | None
    #: The dashboard user who acted (usr_…), when it was not an API key.
    user: str | None = None
    ip: str | None
    request_id: str | None
    status_code: int | None
    created: int

    @classmethod
    def of(cls, entry: AuditLog, key_prefix: str | None) -> AuditLogPublic:
        return cls(
            id=public_id(entry),
            action=entry.action,
            object_id=entry.object_id,
            api_key=entry.api_key_id,
            api_key_prefix=key_prefix,
            user=entry.user_id,
            ip=entry.ip,
            request_id=entry.request_id,
            status_code=entry.status_code,
            created=int(entry.created_at.timestamp()),
        )


@router.get("", response_model=ListResponse[AuditLogPublic])
async def list_audit_log(
    principal: ReadKey,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
    action: Annotated[
        str | None, Query(max_length=80, description="Exact, or a prefix ending in '.'")
    ] = None,
    object_id: Annotated[str | None, Query(max_length=40)] = None,
    created_gte: Annotated[int | None, Query(alias="created[gte]", ge=0, le=MAX_UNIX_TIME)] = None,
    created_lte: Annotated[int | None, Query(alias="created[lte]", ge=0, le=MAX_UNIX_TIME)] = None,
) -> ListResponse[AuditLogPublic]:
    """Every mutating call made with this merchant's keys, newest first: action, object, key, client IP
    and request id. Another merchant's entries are never listed."""
    rows, has_more = await list_audit_logs(
        session,
        principal.merchant_id,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        action=action,
        object_id=object_id,
        created_gte=from_unix(created_gte),
        created_lte=from_unix(created_lte),
    )
    return ListResponse[AuditLogPublic](
        data=[AuditLogPublic.of(entry, prefix) for entry, prefix in rows],
        has_more=has_more,
        url="/v1/audit_logs",
    )
