"""Intent operations that need the network: the payer's wallet transactions, relayed escrow calls."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from web3 import AsyncWeb3

from sluice.chain.payment_uri import qr_svg
from sluice.chain.registry import NetworkConfig
from sluice.chain.rpc import async_web3
from sluice.checkout.service import checkout_link
from sluice.clock import utcnow
from sluice.errors import InvalidRequestError, InvalidStateError, NotFoundError, UnsupportedPaymentMethodError
from sluice.intents.escrow import (
    EscrowState,
    RelayRevertedError,
    escrow_totals,
    invalidate,
    read_escrow,
    relay,
)
from sluice.intents.record import IntentRecord
from sluice.intents.relaying import Relayers
from sluice.intents.service import PaymentIntentService
from sluice.intents.status import CaptureMethod, PaymentIntentStatus
from sluice.intents.transitions import cancel as cancel_decision
from sluice.intents.transitions import decide
from sluice.merchants.service import Principal
from sluice.models.merchant import ApiKeyKind

log = structlog.get_logger(__name__)


class ChainOperations:
    """What needs the network: the payer's instructions from the intent's rail, relayed escrow calls."""

    def __init__(self, intents: PaymentIntentService, relayers: Relayers | None = None) -> None:
        self.intents = intents
        self.relayers = relayers if relayers is not None else Relayers(intents.settings)

    async def transactions(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        *,
        payer: str,
        method: str | None,
        permit_signature: str | None = None,
        client_secret: str | None = None,
    ) -> dict[str, Any]:
        """The unsigned transactions `payer` signs, in order (or the permit to sign first); `method`
        defaults when only one fits (sluice.chain.transactions.default_method)."""
        intent = await self.intents.get(session, principal, intent_id)
        if principal.kind == ApiKeyKind.publishable and client_secret != intent.client_secret:
            raise NotFoundError(f"no such payment_intent: {intent_id!r}", param="id")
        if PaymentIntentStatus(intent.status) != PaymentIntentStatus.requires_payment:
            raise InvalidStateError(
                f"the intent is {intent.status}: there is nothing to pay",
                code="payment_intent_unexpected_state",
            )
        if intent.expires_at <= utcnow():
            raise InvalidStateError("the intent has expired", code="payment_intent_expired")
        rail = self.intents.rails.get(intent.rail)
        payer = rail.validate_address(payer, "payer")
        built = await rail.build(intent, payer, method=method, permit_signature=permit_signature)
        checkout = checkout_link(self.intents.settings.checkout_base_url, intent.id, intent.client_secret)
        return {
            "object": "payment_transactions",
            "payment_intent": intent.id,
            "rail": built.rail,
            "payer": payer,
            **built.extra,
            "transactions": list(built.transactions),
            "uri": built.uri,
            "checkout_url": checkout,
            "qr_svg": qr_svg(checkout),
        }

    async def _payable(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        client_secret: str | None,
        *,
        lock: bool,
    ) -> IntentRecord:
        intent = await self.intents.get(session, principal, intent_id, lock=lock)
        if principal.kind == ApiKeyKind.publishable and client_secret != intent.client_secret:
            raise NotFoundError(f"no such payment_intent: {intent_id!r}", param="id")
        if PaymentIntentStatus(intent.status) != PaymentIntentStatus.requires_payment:
            raise InvalidStateError(
                f"the intent is {intent.status}: there is nothing to pay",
                code="payment_intent_unexpected_state",
            )
        if intent.expires_at <= utcnow():
            raise InvalidStateError("the intent has expired", code="payment_intent_expired")
        if intent.rail != "evm-contract" or intent.capture_method != CaptureMethod.automatic:
            raise UnsupportedPaymentMethodError(
                "gasless payment is offered for capture_method=automatic intents on EVM networks",
                method="gasless",
            )
        return intent

    async def gasless_request(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        *,
        payer: str,
        method: str | None,
        client_secret: str | None = None,
    ) -> dict[str, Any]:
        """The typed data `payer` signs (eth_signTypedData_v4) to pay the intent without gas: EIP-3009
        when the token supports it, Permit2 otherwise (with the one-time approval if missing)."""
        from sluice.chain.gasless import build_gasless_request
        from sluice.intents.onchain import to_onchain

        intent = await self._payable(session, principal, intent_id, client_secret, lock=False)
        network = self.intents.registry.network(intent.network)
        payer = self.intents.rails.get(intent.rail).validate_address(payer, "payer")
        built = await build_gasless_request(async_web3(network), network, to_onchain(intent), payer, method)
        return {
            "object": "gasless_payment_request",
            "payment_intent": intent.id,
            "payer": payer,
            "method": built.method,
            "methods": list(built.methods),
            "typed_data": built.typed_data,
            "approval_transaction": built.approval,
        }

    async def relay_gasless(
        self,
        session: AsyncSession,
        principal: Principal,
        intent_id: str,
        *,
        payer: str,
        method: str,
        signature: str,
        client_secret: str | None = None,
        wait: float = 60.0,
    ) -> dict[str, Any]:
        """Checks the payer's signature and has the relayer send payWithAuthorization/payWithPermit2;
        waits up to `wait` s for it to be mined (status `pending` after that; the indexer settles it)."""
        from sqlalchemy import select

        from sluice.chain.gasless import build_relay_call
        from sluice.intents.onchain import to_onchain
        from sluice.models.relay import RelayTransaction

        intent = await self._payable(session, principal, intent_id, client_secret, lock=True)
        earlier = await session.scalar(
            select(RelayTransaction).where(
                RelayTransaction.payment_intent_id == intent.id,
                RelayTransaction.action.like("pay_%"),
                RelayTransaction.status.in_(("pending", "succeeded")),
            )
        )
        if earlier is not None:
            raise InvalidStateError(
                f"this intent's payment was already relayed ({earlier.tx_hash}, {earlier.status})",
                code="payment_already_relayed",
            )
        network = self.intents.registry.network(intent.network)
        payer = self.intents.rails.get(intent.rail).validate_address(payer, "payer")
        manager = self.relayers.manager(network)
        call, gas = await build_relay_call(
            async_web3(network),
            network,
            to_onchain(intent),
            bytes(intent.signature),
            payer,
            method,
            signature,
            manager.account.address,
        )
        result = await self.relayers.relay(session, network, intent, f"pay_{method}", call, gas, timeout=wait)
        outcome = result.outcome
        if outcome is not None and not outcome.succeeded:
            raise RelayRevertedError(f"the relayed payment {result.tx_hash} reverted", tx_hash=result.tx_hash)
        return {
            "object": "relayed_payment",
            "payment_intent": intent.id,
            "payer": payer,
            "method": method,
            "status": result.status,
            "tx_hash": result.tx_hash,
            "gas_used": None if outcome is None else outcome.gas_used,
            "fee_paid": None if outcome is None else str(outcome.fee_paid),
        }

    async def capture(
        self, session: AsyncSession, principal: Principal, intent_id: str, amount: int | None
    ) -> IntentRecord:
        """Captures escrowed funds (all that is capturable by default) through the operator relayer."""
        intent = await self.intents.get(session, principal, intent_id, lock=True)
        if intent.capture_method != CaptureMethod.manual:
            raise InvalidStateError(
                "only capture_method=manual intents are captured; automatic ones settle when paid",
                code="payment_intent_unexpected_state",
            )
        if PaymentIntentStatus(intent.status) in (PaymentIntentStatus.canceled, PaymentIntentStatus.expired):
            raise InvalidStateError(
                f"cannot capture a {intent.status} intent", code="payment_intent_unexpected_state"
            )
        network, w3, state = await self._escrow(session, intent)
        if state.capturable == 0:
            raise InvalidStateError(
                "nothing to capture: the escrow is not funded, or already captured, refunded or voided",
                code="payment_intent_unexpected_state",
            )
        amount = _within_capturable(state, amount, "amount_to_capture")
        await relay(w3, network, intent, "capture", self.relayers, session, amount=amount)
        await self._sync(session, intent, await read_escrow(w3, network, intent))
        return intent

    async def refund_escrow(
        self, session: AsyncSession, principal: Principal, intent_id: str, amount: int | None
    ) -> tuple[IntentRecord, int, str]:
        """Returns uncaptured escrow funds to the payer; (intent, amount, transaction hash)."""
        intent = await self.intents.get(session, principal, intent_id, lock=True)
        if intent.capture_method != CaptureMethod.manual:
            raise InvalidRequestError(
                "automatic-capture payments were paid to your payout address in the payment transaction: "
                "refund them by sending the funds back from that address",
                param="payment_intent",
                code="refund_unsupported",
            )
        network, w3, state = await self._escrow(session, intent)
        if state.capturable == 0:
            raise InvalidStateError(
                "nothing to refund: no uncaptured funds in escrow", code="charge_already_refunded"
            )
        amount = _within_capturable(state, amount, "amount")
        try:
            tx_hash = await relay(w3, network, intent, "refund", self.relayers, session, amount=amount)
        except RelayRevertedError as exc:
            raise RefundRevertedError(str(exc), amount=amount, tx_hash=exc.tx_hash) from exc
        await self._sync(session, intent, await read_escrow(w3, network, intent))
        return intent, amount, tx_hash

    async def cancel(
        self, session: AsyncSession, principal: Principal, intent_id: str, reason: str | None
    ) -> IntentRecord:
        """Cancels the intent and makes sure it can no longer be paid: a funded escrow is voided (the
        payer gets the funds back); otherwise the intent's nonce is burnt on its contract."""
        intent = await self.intents.get(session, principal, intent_id, lock=True)
        cancel_decision(intent, reason, now=utcnow())  # refuses before anything is sent
        funded = PaymentIntentStatus(intent.status) == PaymentIntentStatus.requires_capture
        network = self.intents.registry.network(intent.network)
        totals = None
        if network.family != "evm":
            # No contract holds a nonce to burn (Solana Pay: the payer's own transfer): a payment
            # that still arrives is recorded, and announced as a late payment.
            pass
        elif not network.rpc_urls:
            log.warning(
                "intent_cancel_not_invalidated", intent=intent.id, network=network.name, reason="no RPC URL"
            )
        else:
            w3 = async_web3(network)
            if funded:
                await relay(w3, network, intent, "void", self.relayers, session)
                totals = escrow_totals(await read_escrow(w3, network, intent))
            else:
                await invalidate(w3, network, intent, self.relayers, session)
        # Recorded after the chain step, so the event shows the voided amounts.
        return await self.intents.cancel(session, principal, intent_id, reason, totals=totals)

    async def _sync(self, session: AsyncSession, intent: IntentRecord, state: EscrowState) -> None:
        """Moves the intent to what the escrow's state says, recording the events the transitions
        announce (the indexer, seeing the same entries later, then finds nothing to change)."""
        decision = decide(intent, escrow_totals(state), now=utcnow())
        if decision is not None:
            await self.intents.apply(session, intent, decision)

    async def _escrow(
        self, session: AsyncSession, intent: IntentRecord
    ) -> tuple[NetworkConfig, AsyncWeb3, EscrowState]:
        network = self.intents.registry.network(intent.network)
        w3 = async_web3(network)
        state = await read_escrow(w3, network, intent)
        await self._sync(session, intent, state)
        return network, w3, state


class RefundRevertedError(RelayRevertedError):
    """Raised when the relayed escrow refund reverted on chain; carries the amount it asked for."""

    def __init__(self, message: str, *, amount: int, tx_hash: str) -> None:
        super().__init__(message, tx_hash=tx_hash)
        self.amount = amount


def _within_capturable(state: EscrowState, amount: int | None, param: str) -> int:
    """The requested amount, all that is uncaptured by default; never more than that."""
    if amount is None:
        return state.capturable
    if amount > state.capturable:
        raise InvalidRequestError(
            f"{param} {amount} exceeds the {state.capturable} still uncaptured in escrow",
            param=param,
            code="amount_too_large",
        )
    return amount
