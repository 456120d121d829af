"""Creating and reading refunds; every query scoped to the merchant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import cursor_page
from sluice.errors import NotFoundError
from sluice.events.outbox import EventType
from sluice.events.service import record_events, refund_event
from sluice.intents.operations import ChainOperations, RefundRevertedError
from sluice.merchants.service import Principal
from sluice.models.payment_intent import PaymentIntent
from sluice.models.refund import Refund, RefundStatus


class RefundService:
    def __init__(self, operations: ChainOperations) -> None:
        self.operations = operations

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        amount: int | None,
        reason: str | None,
    ) -> Refund:
        """Returns uncaptured escrow funds to the payer through the operator relayer. A refund whose
        transaction reverted is kept with status `failed` (and `refund.failed` sent); the events
        `refund.created` and `refund.succeeded`/`refund.failed` commit with the refund."""
        try:
            intent, refunded, tx_hash = await self.operations.refund_escrow(
                session, principal, intent_id, amount
            )
        except RefundRevertedError as exc:
            refund = await self._add(
                session, principal, intent_id, exc.amount, RefundStatus.failed, reason, exc.tx_hash
            )
            await self._record(session, principal, refund, EventType.refund_failed)
            return refund
        refund = await self._add(
            session, principal, intent.id, refunded, RefundStatus.succeeded, reason, tx_hash
        )
        await self._record(session, principal, refund, EventType.refund_succeeded)
        return refund

    async def _add(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        amount: int,
        status: RefundStatus,
        reason: str | None,
        tx_hash: str | None,
    ) -> Refund:
        refund = Refund(
            merchant_id=principal.merchant_id,
            payment_intent_id=intent_id,
            amount=amount,
            status=status,
            reason=reason,
            tx_hash=tx_hash,
            failure_reason="transaction_reverted" if status == RefundStatus.failed else None,
        )
        session.add(refund)
        await session.flush()
        return refund

    async def _record(
        self, session: AsyncSession, principal: Principal, refund: Refund, outcome: EventType
    ) -> None:
        await record_events(
            session,
            [
                refund_event(refund, EventType.refund_created, livemode=principal.livemode),
                refund_event(refund, outcome, livemode=principal.livemode),
            ],
        )

    async def get(self, session: AsyncSession, principal: Principal, refund_id: str) -> Refund:
        refund = (
            await session.execute(
                select(Refund)
                .join(PaymentIntent, PaymentIntent.id == Refund.payment_intent_id)
                .where(
                    Refund.id == refund_id,
                    Refund.merchant_id == principal.merchant_id,
                    PaymentIntent.livemode == principal.livemode,
                )
            )
        ).scalar_one_or_none()
        if refund is None:
            raise NotFoundError(f"no such refund: {refund_id!r}", param="id")
        return refund

    async def list(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        payment_intent: str | None,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> tuple[list[Refund], bool]:
        """Newest first, with Stripe-style cursors."""
        stmt = (
            select(Refund)
            .join(PaymentIntent, PaymentIntent.id == Refund.payment_intent_id)
            .where(Refund.merchant_id == principal.merchant_id, PaymentIntent.livemode == principal.livemode)
        )
        if payment_intent is not None:
            stmt = stmt.where(Refund.payment_intent_id == payment_intent)
        return await cursor_page(
            session,
            stmt,
            Refund,
            merchant_id=principal.merchant_id,
            object_name="refund",
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )
