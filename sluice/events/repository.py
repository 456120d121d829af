"""Reading events: every query scoped to one merchant and mode."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Row, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import keyset_page
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.merchants.service import Principal
from sluice.models.event import Event


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
        if starting_after and ending_before:
            raise InvalidRequestError("give starting_after or ending_before, not both", param="ending_before")
        stmt: Select[Event] = select(Event).where(
            Event.merchant_id == principal.merchant_id, Event.livemode == principal.livemode
        )
        if types:
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
        after = await self._cursor(session, principal, starting_after, "starting_after")
        before = await self._cursor(session, principal, ending_before, "ending_before")
        rows, has_more = await keyset_page(
            session, stmt, Event.created_at, Event.id, limit=limit, after=after, before=before
        )
        # One entity per row, whether keyset_page hands back scalars or 1-tuples.
        return [r[0] if isinstance(r, Row) else r for r in rows], has_more

    async def _cursor(
        self, session: AsyncSession, principal: Principal, event_id: str | None, param: str
    ) -> tuple[datetime, str] | None:
        if event_id is None:
            return None
        row = (
            await session.execute(
                select(Event.created_at, Event.id).where(
                    Event.id == event_id, Event.merchant_id == principal.merchant_id
                )
            )
        ).one_or_none()
        if row is None:
            raise NotFoundError(f"no such event: {event_id!r}", param=param)
        return row[0], row[1]


event_repository = EventRepository()
