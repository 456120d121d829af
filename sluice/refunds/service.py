"""Creating and reading refunds; every query scoped to the merchant."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.pagination import cursor_page
from sluice.errors import NotFoundError
from sluice.events.outbox import EventType
from sluice.events.service import record_events, refund_event
from sluice.intents.operations import ChainOperations, RefundRevertedError
from sluice.intents.record import IntentRecord
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

    async def create_deposit_refund(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        *,
        destination: str,
        amount: int,
        deadline: int,
        merchant_signature: str,
        reason: str | None,
    ) -> Refund:
        """Refunds an over- or late payment held at the intent's deposit address to `destination`, as the
        merchant signed (`deposit_refund_authorization`), relayed by the gateway. Re-checks what is
        refundable, the signature and the deadline first (400s, nothing sent); a refund whose transaction
        reverted is kept `failed` (and `refund.failed` sent)."""
        from sluice.deposits import refunds as deposit_refunds

        intent, network, w3 = await self._deposit_intent(session, principal, intent_id)
        checked = await deposit_refunds.authorization(
            session, w3, network, intent, destination, amount, deadline=deadline
        )
        signature = deposit_refunds.check_signature(intent, checked, merchant_signature)
        result = await deposit_refunds.relay(
            session, w3, network, intent, checked, signature, self.operations.relayers
        )
        if result.outcome is None:
            refund = await self._add(
                session, principal, intent.id, checked.amount, RefundStatus.pending, reason, result.tx_hash
            )
            refund.destination = checked.destination
            await self._record_created(session, principal, refund)
            return refund
        status = RefundStatus.succeeded if result.outcome.succeeded else RefundStatus.failed
        refund = await self._add(
            session, principal, intent.id, checked.amount, status, reason, result.tx_hash
        )
        refund.destination = checked.destination
        outcome = EventType.refund_succeeded if result.outcome.succeeded else EventType.refund_failed
        await self._record(session, principal, refund, outcome)
        return refund

    async def deposit_refund_authorization(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        *,
        destination: str,
        amount: int | None,
    ) -> Any:
        """What the merchant signs to refund `amount` (default: all that is refundable) of the intent's
        deposit address to `destination` (sluice.deposits.refunds.DepositRefund)."""
        from sluice.deposits import refunds as deposit_refunds

        intent, network, w3 = await self._deposit_intent(session, principal, intent_id)
        return await deposit_refunds.authorization(session, w3, network, intent, destination, amount)

    async def _deposit_intent(
        self, session: AsyncSession, principal: Principal, intent_id: str
    ) -> tuple[IntentRecord, Any, Any]:
        from sluice.chain.rpc import async_web3

        intent = await self.operations.intents.get(session, principal, intent_id, lock=True)
        network = self.operations.intents.registry.network(intent.network)
        return intent, network, async_web3(network)

    async def _record_created(self, session: AsyncSession, principal: Principal, refund: Refund) -> None:
        await record_events(
            session, [refund_event(refund, EventType.refund_created, livemode=principal.livemode)]
        )

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
