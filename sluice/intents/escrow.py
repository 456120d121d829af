"""Escrow operations relayed by the relayer key (capture, refund, void), and the escrow's on-chain
state as ledger sums.

The API reads the escrow's state directly after each relayed call and lets the transitions decide
from it; the amounts are absolute (deposited, captured, refunded), so the indexer applying the same
entries later changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession
from web3 import AsyncWeb3

from sluice.chain._utils import sluice_contract
from sluice.chain.intents import ZERO_ADDRESS
from sluice.chain.intents import PaymentIntent as OnchainIntent
from sluice.chain.operator import (
    OperatorAction,
    OperatorCall,
    build_nonce_invalidation,
    build_operator_call,
    escrow_depositor,
)
from sluice.chain.registry import NetworkConfig
from sluice.errors import SluiceError
from sluice.intents.onchain import contract_kind, to_onchain
from sluice.intents.record import IntentRecord
from sluice.intents.relaying import Relayers
from sluice.intents.transitions import Sums, Totals

OPEN, VOIDED, RECLAIMED = 1, 2, 3


class RelayError(SluiceError, RuntimeError):
    """Raised when the relayer's transaction was sent but failed or was not mined in time."""

    code = "relay_failed"
    error_type = "api_error"
    http_status = 502


class RelayRevertedError(RelayError):
    """Raised when the relayer's transaction was mined and reverted: it definitely did nothing."""

    code = "relay_reverted"

    def __init__(self, message: str, *, tx_hash: str) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


@dataclass(frozen=True)
class EscrowState:
    deposited: int
    captured: int
    refunded: int
    released: int
    status: int

    @property
    def capturable(self) -> int:
        return self.deposited - self.captured - self.refunded if self.status == OPEN else 0


async def held_intent(w3: AsyncWeb3, network: NetworkConfig, intent: IntentRecord) -> OnchainIntent | None:
    """The intent as the escrow keys it: the signed struct completed with the address that deposited
    (read from the escrow's Deposited log when the intent names no payer); None when nobody has."""
    onchain = to_onchain(intent)
    if onchain.payer != ZERO_ADDRESS:
        return onchain
    depositor = await escrow_depositor(w3, network, onchain.id)
    return None if depositor is None else replace(onchain, payer=depositor)


async def read_escrow(w3: AsyncWeb3, network: NetworkConfig, intent: IntentRecord) -> EscrowState:
    held = await held_intent(w3, network, intent)
    if held is None:
        return EscrowState(deposited=0, captured=0, refunded=0, released=0, status=0)
    escrow = sluice_contract(w3, network, "escrow")
    raw = await escrow.functions.getEscrow(held.as_tuple()).call()
    # (key, payer, status, deposited, captured, refunded, released)
    return EscrowState(
        deposited=int(raw[3]),
        captured=int(raw[4]),
        refunded=int(raw[5]),
        released=int(raw[6]),
        status=int(raw[2]),
    )


def escrow_totals(state: EscrowState) -> Totals:
    """The escrow's state as the sums of its ledger entries (read after the relayer's own call was
    mined, so taken as final): the transitions decide from it as from the indexer's entries."""
    return Totals.settled(
        Sums(
            deposited=state.deposited,
            captured=state.captured,
            refunded=state.refunded,
            released=state.released,
            closed=state.status in (VOIDED, RECLAIMED),
            reclaimed=state.status == RECLAIMED,
        )
    )


async def relay(
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: IntentRecord,
    action: OperatorAction,
    relayers: Relayers,
    session: AsyncSession,
    *,
    amount: int | None = None,
    timeout: float = 120.0,
) -> str:
    """Sends the relayer's escrow call through this process's nonce manager and waits for it; returns
    the transaction hash. The gas paid is recorded against the intent (relay_transactions)."""
    relayer = relayers.manager(network).account
    held = await held_intent(w3, network, intent)
    if held is None:
        raise RelayError(f"{action}: the intent's escrow was never funded")
    call = await build_operator_call(w3, network, held, action, relayer, amount=amount)
    return await _send(relayers, session, network, intent, call, timeout)


async def invalidate(
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: IntentRecord,
    relayers: Relayers,
    session: AsyncSession,
    *,
    timeout: float = 120.0,
) -> str:
    """Burns the intent's nonce on its contract, so its signature can never be paid."""
    relayer = relayers.manager(network).account
    call = await build_nonce_invalidation(w3, network, contract_kind(intent), int(intent.nonce), relayer)
    return await _send(relayers, session, network, intent, call, timeout)


async def _send(
    relayers: Relayers,
    session: AsyncSession,
    network: NetworkConfig,
    intent: IntentRecord,
    call: OperatorCall,
    timeout: float,
) -> str:
    tx = call.transaction
    params = {"to": tx["to"], "data": tx["data"], "value": tx["value"]}
    result = await relayers.relay(
        session, network, intent, call.action, params, int(tx["gas"], 16), timeout=timeout
    )
    if result.outcome is None:
        raise RelayError(f"{call.action} transaction {result.tx_hash} was not mined in {timeout:.0f} s")
    if not result.outcome.succeeded:
        raise RelayRevertedError(
            f"{call.action} transaction {result.tx_hash} reverted", tx_hash=result.tx_hash
        )
    return result.tx_hash
