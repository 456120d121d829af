"""Outbox events: what a state change announces. `sluice.intents.repository.outbox` writes them as rows
of `events` in the caller's transaction (the webhook workers deliver them).

Apart from `sluice.events.service` (ORM sessions, refunds) so that the indexer, which builds thousands
of these a second, does not import SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sluice.clock import utcnow
from sluice.events.types import EventType as EventType
from sluice.ids import new_id
from sluice.intents.views import present

if TYPE_CHECKING:
    from sluice.intents.record import IntentRecord, QuoteRecord


@dataclass(frozen=True, slots=True)
class NewEvent:
    merchant_id: str
    livemode: bool
    type: str
    object_id: str | None
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None
    request_id: str | None = None
    id: str = field(default_factory=lambda: new_id("evt"))
    created_at: datetime = field(default_factory=utcnow)

    def data(self) -> dict[str, Any]:
        """The `data` column: the object and, when the change has them, its previous attributes."""
        data: dict[str, Any] = {"object": self.object}
        if self.previous_attributes:
            data["previous_attributes"] = self.previous_attributes
        return data


def intent_event(
    intent: IntentRecord,
    type: EventType | str,
    checkout_base_url: str,
    *,
    quote: QuoteRecord | None = None,
    previous_attributes: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> NewEvent:
    """An event carrying the intent as GET /v1/payment_intents/{id} returns it now."""
    return NewEvent(
        merchant_id=intent.merchant_id,
        livemode=intent.livemode,
        type=str(type),
        object_id=intent.id,
        object=present(intent, checkout_base_url, quote),
        previous_attributes=previous_attributes,
        request_id=request_id,
    )
