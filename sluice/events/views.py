"""The public (API and webhook body) view of events: the same JSON in both places."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from sluice import jsoncodec
from sluice.models.event import Event


class EventRequest(BaseModel):
    #: The API request that caused the event (None for chain events and scheduled jobs).
    id: str | None


class EventPublic(BaseModel):
    id: str
    object: Literal["event"] = "event"
    type: str
    created: int
    livemode: bool
    #: {"object": <the object as the API returns it>, "previous_attributes": {...}?}
    data: dict[str, Any]
    request: EventRequest

    @classmethod
    def of(cls, event: Event) -> EventPublic:
        return cls(
            id=event.id,
            type=event.type,
            created=int(event.created_at.timestamp()),
            livemode=event.livemode,
            data=event.data,
            request=EventRequest(id=event.request_id),
        )


def event_body(
    event_id: str, type: str, created: int, livemode: bool, data: dict[str, Any], request_id: str | None
) -> bytes:
    """The webhook body: the event as GET /v1/events/{id} returns it, compact JSON."""
    payload = {
        "id": event_id,
        "object": "event",
        "type": type,
        "created": created,
        "livemode": livemode,
        "data": data,
        "request": {"id": request_id},
    }
    return jsoncodec.dumps_bytes(payload)
