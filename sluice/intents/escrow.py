"""Escrow operations relayed by the relayer key (capture, refund, void), and the escrow's on-chain
state as ledger sums.

The API reads the escrow's state directly after each relayed call and lets the transitions decide
from it; the amounts are absolute (deposited, captured, refunded), so the indexer applying the same
entries later changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hexbytes import HexBytes
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
from sluice.config import Settings
from sluice.errors import SluiceError
from sluice.intents.onchain import contract_kind, to_onchain
from sluice.intents.record import IntentRecord
from sluice.intents.signing import relayer_account
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
    settings: Settings,
    *,
    amount: int | None = None,
    timeout: float = 120.0,
) -> str:
    """Sends the relayer's escrow call and waits for it; returns the transaction hash."""
    relayer = relayer_account(settings, live=network.live)
    held = await held_intent(w3, network, intent)
    if held is None:
        raise RelayError(f"{action}: the intent's escrow was never funded")
    call = await build_operator_call(w3, network, held, action, relayer, amount=amount)
    return await send_and_wait(w3, call, timeout)


async def invalidate(
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: IntentRecord,
    settings: Settings,
    *,
    timeout: float = 120.0,
) -> str:
    """Burns the intent's nonce on its contract, so its signature can never be paid."""
    relayer = relayer_account(settings, live=network.live)
    call = await build_nonce_invalidation(w3, network, contract_kind(intent), int(intent.nonce), relayer)
    return await send_and_wait(w3, call, timeout)


async def send_and_wait(w3: AsyncWeb3, call: OperatorCall, timeout: float) -> str:
    await w3.eth.send_raw_transaction(call.raw_transaction)
    try:
        receipt = await w3.eth.wait_for_transaction_receipt(HexBytes(call.hash), timeout=timeout)
    except Exception as exc:
        raise RelayError(f"{call.action} transaction {call.hash} was not mined in {timeout:.0f} s") from exc
    if receipt["status"] != 1:
        raise RelayRevertedError(f"{call.action} transaction {call.hash} reverted", tx_hash=call.hash)
    return call.hash
