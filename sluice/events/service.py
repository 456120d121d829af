"""Recording events inside the caller's ORM session and transaction (the API's services and jobs).

The caller owns the transaction: an event is committed exactly when the state change it describes is.
The events themselves, their rows and the COPY that writes many at once are `sluice.events.outbox`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.session import driver_connection
from sluice.events.outbox import EventType, NewEvent, insert_outbox, outbox_rows
from sluice.models.event import Event
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
    """Inserts the events in one statement (the expiry job records a batch at once); returns their ids."""
    batch = list(events)
    if len(batch) == 1:
        await session.execute(insert(Event), [batch[0].row()])
    elif batch:
        await insert_outbox(await driver_connection(session), outbox_rows(batch))
    return [event.id for event in batch]


async def record_event(session: AsyncSession, event: NewEvent) -> str:
    return (await record_events(session, [event]))[0]
