"""Recording events inside the caller's ORM session and transaction (refunds, webhook endpoints).

The caller owns the transaction: an event is committed exactly when the state change it describes is.
The events are `sluice.events.outbox`; their rows are written by `sluice.intents.repository.outbox`
(the one writer of the outbox) on the session's connection.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.session import driver_connection
from sluice.events.outbox import EventType, NewEvent
from sluice.intents.repository.outbox import insert_events
from sluice.models.refund import Refund
from sluice.refunds.views import RefundPublic


def refund_event(
    refund: Refund, type: EventType | str, *, livemode: bool, request_id: str | None = None
) -> NewEvent:
    return NewEvent(
        merchant_id=refund.merchant_id,
        livemode=livemode,
        type=str(type),
        object_id=refund.id,
        object=RefundPublic.of(refund).model_dump(mode="json"),
        request_id=request_id,
    )


async def record_events(session: AsyncSession, events: Iterable[NewEvent]) -> list[str]:
    """Inserts the events in one statement in the session's transaction; returns their ids."""
    batch = list(events)
    if not batch:
        return []
    return await insert_events(await driver_connection(session), batch)


async def record_event(session: AsyncSession, event: NewEvent) -> str:
    return (await record_events(session, [event]))[0]
