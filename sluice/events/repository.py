"""Reading events: every query scoped to one merchant and mode."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import cursor_page
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.events.outbox import EventType
from sluice.merchants.service import Principal
from sluice.models.event import Event


def check_type_filter(types: list[str]) -> None:
    """Each entry is a known event type or `<object>.*` for a known object: a misspelt type is a 400
    (`unknown_event_type`), not an empty list that looks like "no such events"."""
    known = {str(t) for t in EventType}
    prefixes = {t.split(".", 1)[0] for t in known}
    for entry in types:
        if entry in known or (entry.endswith(".*") and entry[:-2] in prefixes):
            continue
        raise InvalidRequestError(
            f"unknown event type {entry!r}: give a type such as 'payment_intent.succeeded', or "
            f"'<object>.*' for one of: {', '.join(sorted(prefixes))}",
            param="type",
            code="unknown_event_type",
        )


class EventRepository:
    async def get(self, session: AsyncSession, principal: Principal, event_id: str) -> Event:
        event = (
            await session.execute(
                select(Event).where(
                    Event.id == event_id,
                    Event.merchant_id == principal.merchant_id,
                    Event.livemode == principal.livemode,
                )
            )
        ).scalar_one_or_none()
        if event is None:
            raise NotFoundError(f"no such event: {event_id!r}", param="id")
        return event

    async def list(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        types: list[str] | None = None,
        created_gte: datetime | None = None,
        created_lte: datetime | None = None,
    ) -> tuple[list[Event], bool]:
        """Newest first. `types` entries are exact (`payment_intent.succeeded`) or a prefix
        wildcard (`payment_intent.*`)."""
        stmt: Select[Event] = select(Event).where(
            Event.merchant_id == principal.merchant_id, Event.livemode == principal.livemode
        )
        if types:
            check_type_filter(types)
            exact = [t for t in types if not t.endswith(".*")]
            prefixes = [t[:-1] for t in types if t.endswith(".*")]
            conditions: list[ColumnElement[bool]] = []
            if exact:
                conditions.append(Event.type.in_(exact))
            conditions.extend(Event.type.startswith(p, autoescape=True) for p in prefixes)
            stmt = stmt.where(or_(*conditions))
        if created_gte is not None:
            stmt = stmt.where(Event.created_at >= created_gte)
        if created_lte is not None:
            stmt = stmt.where(Event.created_at <= created_lte)
        return await cursor_page(
            session,
            stmt,
            Event,
            merchant_id=principal.merchant_id,
            object_name="event",
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )


event_repository = EventRepository()
