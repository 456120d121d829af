"""The only place that builds queries over payment intents; every query is scoped to one merchant."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import cursor_page
from sluice.models.payment_intent import PaymentIntent, PaymentIntentStatus
from sluice.models.quote import Quote


class PaymentIntentRepository:
    async def get(
        self, session: AsyncSession, merchant_id: str, intent_id: str, *, lock: bool = False
    ) -> PaymentIntent | None:
        stmt = select(PaymentIntent).where(
            PaymentIntent.id == intent_id, PaymentIntent.merchant_id == merchant_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await session.execute(stmt)).scalar_one_or_none()

    async def page(
        self,
        session: AsyncSession,
        merchant_id: str,
        *,
        livemode: bool,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        status: PaymentIntentStatus | None = None,
        created_gte: datetime | None = None,
        created_lte: datetime | None = None,
    ) -> tuple[list[PaymentIntent], bool]:
        """Newest first, keyset-paginated on (created_at, id); returns the page and whether more exist."""
        stmt: Select[PaymentIntent] = select(PaymentIntent).where(
            PaymentIntent.merchant_id == merchant_id, PaymentIntent.livemode == livemode
        )
        if status is not None:
            stmt = stmt.where(PaymentIntent.status == status)
        if created_gte is not None:
            stmt = stmt.where(PaymentIntent.created_at >= created_gte)
        if created_lte is not None:
            stmt = stmt.where(PaymentIntent.created_at <= created_lte)
        return await cursor_page(
            session,
            stmt,
            PaymentIntent,
            merchant_id=merchant_id,
            object_name="payment_intent",
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )

    async def quotes(self, session: AsyncSession, intents: Iterable[PaymentIntent]) -> dict[str, Quote]:
        """The quotes of fiat-priced intents by id, in one query (the views carry them)."""
        ids = sorted({i.quote_id for i in intents if i.quote_id})
        if not ids:
            return {}
        return {q.id: q for q in await session.scalars(select(Quote).where(Quote.id.in_(ids)))}


payment_intent_repository = PaymentIntentRepository()
