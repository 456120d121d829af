"""/v1/events: what happened to the merchant's objects (the same objects webhooks carry)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from api.audit import Audit
from api.deps import ReadKey, SecretKey, Session
from api.schemas import MAX_UNIX_TIME, ListResponse, Strict, from_unix
from api.webhook_endpoints.endpoints import Endpoints
from sluice.events.repository import event_repository
from sluice.events.views import EventPublic
from sluice.webhooks.views import WebhookDeliveryPublic

router = APIRouter(prefix="/events", tags=["events"])


class RedeliverIn(Strict):
    #: One endpoint (`we_…`); default every enabled endpoint that takes the event's type.
    webhook_endpoint: str | None = None


@router.get("", response_model=ListResponse[EventPublic])
async def list_events(
    principal: ReadKey,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
    type: Annotated[
        str | None, Query(max_length=60, description="An event type, or a prefix like `payment_intent.*`.")
    ] = None,
    types: Annotated[list[str] | None, Query(alias="types[]", max_length=20)] = None,
    created_gte: Annotated[int | None, Query(alias="created[gte]", ge=0, le=MAX_UNIX_TIME)] = None,
    created_lte: Annotated[int | None, Query(alias="created[lte]", ge=0, le=MAX_UNIX_TIME)] = None,
) -> ListResponse[EventPublic]:
    """List events, newest first, with cursor pagination (`starting_after`/`ending_before`),
    filtered by `type` (or several `types[]`) and creation time."""
    wanted = [*(types or []), *([type] if type else [])]
    rows, has_more = await event_repository.list(
        session,
        principal,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        types=wanted or None,
        created_gte=from_unix(created_gte),
        created_lte=from_unix(created_lte),
    )
    return ListResponse[EventPublic](
        data=[EventPublic.of(e) for e in rows], has_more=has_more, url="/v1/events"
    )


@router.get("/{event_id}", response_model=EventPublic)
async def retrieve_event(event_id: str, principal: ReadKey, session: Session) -> EventPublic:
    """Retrieve an event."""
    return EventPublic.of(await event_repository.get(session, principal, event_id))


@router.post("/{event_id}/redeliver", response_model=ListResponse[WebhookDeliveryPublic])
async def redeliver_event(
    event_id: str,
    principal: SecretKey,
    session: Session,
    service: Endpoints,
    audit: Audit,
    body: Annotated[RedeliverIn | None, Body()] = None,
) -> ListResponse[WebhookDeliveryPublic]:
    """Send the event again, with its original `webhook-id` (receivers deduplicate on it), to one
    endpoint or to every enabled endpoint that takes its type; retries start afresh."""
    rows = await service.redeliver(session, principal, event_id, body.webhook_endpoint if body else None)
    await audit("event.redeliver", event_id)
    return ListResponse[WebhookDeliveryPublic](
        data=[WebhookDeliveryPublic.of(*row) for row in rows],
        has_more=False,
        url=f"/v1/events/{event_id}/redeliver",
    )
