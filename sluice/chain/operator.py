"""Calls sent by the relayer key: escrow capture, refund and void, and nonce invalidation (cancelled
intents). The relayer is a role apart from the intent signer: the contracts accept these calls from
the relayer (or the intent's merchant), never from the signing key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from eth_account.signers.local import LocalAccount
from web3 import AsyncWeb3

from sluice.chain._utils import (
    UnsignedTransaction,
    call_params,
    check_chain,
    sluice_contract,
    unsigned_transaction,
)
from sluice.chain.fees import suggest_fees
from sluice.chain.gas import estimate_gas
from sluice.chain.intents import ContractKind, PaymentIntent
from sluice.chain.network_config import NetworkConfig
from sluice.errors import SluiceValueError

OperatorAction = Literal["capture", "void", "refund", "invalidate"]


async def escrow_depositor(w3: AsyncWeb3, network: NetworkConfig, onchain_id: bytes) -> str | None:
    """The address that opened an intent's escrow: the payer of its first `Deposited` log (found by
    the indexed intent id), or None when nothing was deposited. Needed for intents that name no
    payer, because the escrow keys them by the intent completed with its depositor."""
    from sluice.chain.events import decode_logs, event_specs  # the ABIs load on first use

    topic0 = next(
        t for t, spec in event_specs().items() if spec.kind == "escrow" and spec.name == "Deposited"
    )
    logs = await w3.eth.get_logs(
        {
            "address": network.contract("escrow"),  # type: ignore[typeddict-item]
            "topics": [topic0, "0x" + onchain_id.hex()],
            "fromBlock": "earliest",
            "toBlock": "latest",
        }
    )
    events = decode_logs([dict(log) for log in logs])
    return events[0].payer if events else None


@dataclass(frozen=True)
class OperatorCall:
    """An escrow capture, void or refund signed with the relayer key, ready for eth_sendRawTransaction."""

    action: OperatorAction
    transaction: UnsignedTransaction
    raw_transaction: bytes
    hash: str


async def build_operator_call(
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: PaymentIntent,
    action: OperatorAction,
    operator: LocalAccount,
    *,
    amount: int | None = None,
    nonce: int | None = None,
) -> OperatorCall:
    """An escrow capture/refund (of `amount`) or void of the intent (completed with its payer, as the
    escrow keys it), signed by the relayer key.

    The call is estimated first, so an impossible one (more than capturable, window closed, not an
    operator) raises TransactionRevertedError naming the contract's error instead of burning gas.
    Pass `nonce` when several calls are in flight from the same key; by default the pending count.
    """
    await check_chain(w3, network)
    escrow = sluice_contract(w3, network, "escrow")
    args: list[Any] = [intent.as_tuple()]
    if action in ("capture", "refund"):
        if amount is None or amount <= 0:
            raise SluiceValueError(f"{action} needs a positive amount in base units, got {amount!r}")
        args.append(amount)
    elif action == "void":
        if amount is not None:
            raise SluiceValueError("void returns the whole uncaptured balance; it takes no amount")
    else:
        raise SluiceValueError(f"unknown escrow action {action!r}; use capture, void or refund")
    return await _signed_call(
        w3,
        network,
        action,
        call_params(operator.address, escrow.address, str(escrow.encode_abi(action, args=args))),
        operator,
        nonce,
    )


async def build_nonce_invalidation(
    w3: AsyncWeb3,
    network: NetworkConfig,
    kind: ContractKind,
    intent_nonce: int,
    operator: LocalAccount,
    *,
    nonce: int | None = None,
) -> OperatorCall:
    """`invalidateNonces` for one intent nonce on the payments or escrow contract, so a cancelled
    intent's signature can never be used (the contract then answers NonceAlreadyUsed)."""
    await check_chain(w3, network)
    contract = sluice_contract(w3, network, kind)
    data = str(contract.encode_abi("invalidateNonces", args=[intent_nonce >> 8, 1 << (intent_nonce & 0xFF)]))
    return await _signed_call(
        w3, network, "invalidate", call_params(operator.address, contract.address, data), operator, nonce
    )


async def _signed_call(
    w3: AsyncWeb3,
    network: NetworkConfig,
    action: OperatorAction,
    call: Any,
    operator: LocalAccount,
    nonce: int | None,
) -> OperatorCall:
    """Estimates (a call that would revert raises TransactionRevertedError), prices and signs `call`."""
    gas = await estimate_gas(w3, call)
    fees = await suggest_fees(w3, network)
    if nonce is None:
        nonce = int(await w3.eth.get_transaction_count(operator.address, "pending"))
    tx = unsigned_transaction(call, nonce, gas, network.chain_id, fees)
    signed = operator.sign_transaction(tx)  # type: ignore[arg-type]
    return OperatorCall(action, tx, bytes(signed.raw_transaction), signed.hash.to_0x_hex())
