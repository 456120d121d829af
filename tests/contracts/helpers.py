"""Helpers shared by the contract tests: operator transactions, exact clocks, shares, permits, events.

Kept beside the tests (not in factories.py) so that the system factory stays small; everything here
works the same on both backends (eth-tester's py-evm and anvil).

Convention: a transaction expected to revert goes through `reverts.transact` inside `reverts(...)`;
one that must succeed goes through `send` (or `send_as` for the operator), which skips the gas
estimate (see `send`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.contract import Contract
from web3.logs import DISCARD

from sluice.chain.intents import ContractKind, PaymentIntent, Split, claim_typed_data, typed_data
from sluice.chain.permit import PermitRequest
from sluice.chain.permit import sign_permit as permit_signature

from chains import Chain
from factories import System
from reverts import reverts as reverts  # re-exported: the tests import it from here

BPS = 10_000
ZERO = "0x0000000000000000000000000000000000000000"


class Status:
    """SluiceEscrow.Status, as the ABI returns it."""

    NONE = 0
    OPEN = 1
    VOIDED = 2
    RECLAIMED = 3


# ------------------------------------------------------------------------------------------ accounts


def account(system: System, address: str) -> LocalAccount:
    """The local account (with its key) of one of the chain's named addresses."""
    for acct in system.chain.accounts:
        if acct.address == address:
            return acct
    raise KeyError(address)


#: Gas limit of every transaction sent by `send`/`send_as`: ample for any call here, far below a block.
GAS = 3_000_000


def _preflight(fn: Any, sender: str, value: int) -> None:
    # Runs the call on top of the pending block, i.e. with the timestamp the transaction will be mined
    # at (including one pinned with `next_block_at`): a revert raises here with its data, as in
    # `reverts.transact`. Both backends execute "latest" calls at the latest block's own time instead.
    fn.call({"from": sender, "value": value}, block_identifier="pending")


def _receipt(w3: Any, tx_hash: Any) -> dict[str, Any]:
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:
        raise AssertionError(f"transaction reverted: {receipt}")
    return dict(receipt)


def send(fn: Any, sender: str, value: int = 0) -> dict[str, Any]:
    """`reverts.transact` without its gas estimate: a preflight call raises any revert (decodable by
    `reverts`), then the transaction goes out with a fixed gas limit. eth-tester estimates gas by a
    binary search of some twenty executions, so this is several times faster there; and the preflight
    sees a time pinned with `next_block_at`, which anvil's default estimate does not."""
    _preflight(fn, sender, value)
    return _receipt(fn.w3, fn.transact({"from": sender, "value": value, "gas": GAS}))


def send_as(fn: Any, signer: LocalAccount, value: int = 0) -> dict[str, Any]:
    """`send` for an account the node does not hold (the operator): signed locally, sent raw."""
    w3 = fn.w3
    _preflight(fn, signer.address, value)
    tx = fn.build_transaction(
        {
            "from": signer.address,
            "value": value,
            "gas": GAS,
            "nonce": w3.eth.get_transaction_count(signer.address),
        }
    )
    signed = signer.sign_transaction(tx)
    return _receipt(w3, w3.eth.send_raw_transaction(signed.raw_transaction))


def gas_cost(receipt: dict[str, Any]) -> int:
    """Native coin the sender paid for a transaction's gas."""
    return int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])


# ------------------------------------------------------------------------------------------- time


def mine(chain: Chain) -> None:
    if chain.kind == "anvil":
        chain.w3.provider.make_request("evm_mine", [])  # type: ignore[union-attr]
    else:
        chain.w3.testing.mine()


@contextlib.contextmanager
def next_block_at(chain: Chain, timestamp: int) -> Iterator[None]:
    """The next transaction (and any gas estimate for it) runs in a block with exactly `timestamp`.

    Send with `send`/`send_as` inside: their preflight runs on the pending block, which carries the
    pinned time on both backends. A block is mined afterwards if the body mined none (it reverted),
    so that the pinned time never leaks into later transactions."""
    assert timestamp > chain.now(), "can only move the clock forward"
    if chain.kind == "anvil":
        chain.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[union-attr]
    elif chain.w3.eth.get_block("pending")["timestamp"] != timestamp:
        chain.w3.testing.timeTravel(timestamp)  # mines at timestamp - 1; the pending block is at timestamp
    try:
        yield
    finally:
        if chain.now() < timestamp:
            if chain.kind == "anvil":
                chain.w3.provider.make_request("evm_mine", [timestamp])  # type: ignore[union-attr]
            else:
                mine(chain)


# ----------------------------------------------------------------------------------------- shares


def shares(amount: int, splits: Iterable[Split]) -> tuple[int, list[int]]:
    """What the contracts pay: each split rounded down, the remainder to the merchant."""
    fees = [amount * s.bps // BPS for s in splits]
    return amount - sum(fees), fees


def balances(system: System, token: Contract | None, *addresses: str) -> list[int]:
    return [system.balance(token, a) for a in addresses]


def deltas(before: list[int], after: list[int]) -> list[int]:
    return [a - b for a, b in zip(after, before, strict=True)]


# ----------------------------------------------------------------------------------------- events


def events(contract: Contract, name: str, receipt: dict[str, Any]) -> list[dict[str, Any]]:
    """The decoded arguments of every `name` event the contract emitted in a receipt."""
    own = {**receipt, "logs": [log for log in receipt["logs"] if log["address"] == contract.address]}
    logs = getattr(contract.events, name)().process_receipt(own, errors=DISCARD)
    return [dict(log["args"]) for log in logs]


def event(contract: Contract, name: str, receipt: dict[str, Any]) -> dict[str, Any]:
    """The arguments of the one `name` event the contract emitted in a receipt."""
    found = events(contract, name, receipt)
    assert len(found) == 1, f"expected one {name} event, got {found}"
    return found[0]


# ---------------------------------------------------------------------------------------- signing


def signable(system: System, intent: PaymentIntent, kind: ContractKind = "payments") -> Any:
    return encode_typed_data(
        full_message=typed_data(
            intent, chain_id=system.chain.chain_id, contract=system.contract(kind).address, kind=kind
        )
    )


def digest(system: System, intent: PaymentIntent, kind: ContractKind = "payments") -> bytes:
    """The EIP-712 digest eth-account signs for the intent on this chain and contract."""
    msg = signable(system, intent, kind)
    return keccak(b"\x19" + msg.version + msg.header + msg.body)


def struct_hash(system: System, intent: PaymentIntent, kind: ContractKind = "escrow") -> bytes:
    """The intent's EIP-712 struct hash (what the escrow stores as intentHash)."""
    return bytes(signable(system, intent, kind).body)


def recovered(
    system: System, intent: PaymentIntent, signature: bytes, kind: ContractKind = "payments"
) -> str:
    """The address a contract recovers from `signature` over `intent` (wrong for altered intents)."""
    return str(Account.recover_message(signable(system, intent, kind), signature=signature))


def sign_permit(
    system: System, token: Contract, owner: LocalAccount, spender: str, value: int, deadline: int
) -> tuple[int, bytes, bytes]:
    """An EIP-2612 permit (v, r, s) signed by `owner` for the token's current nonce."""
    request = PermitRequest(
        token=token.address,
        owner=owner.address,
        spender=spender,
        value=value,
        nonce=token.functions.nonces(owner.address).call(),
        deadline=deadline,
        domain={
            "name": token.functions.name().call(),
            "version": "1",
            "chainId": system.chain.chain_id,
            "verifyingContract": token.address,
        },
    )
    return permit_signature(request, owner.key)


def sign_claim(system: System, owner: LocalAccount, token: str, to: str, deadline: int) -> bytes:
    """`owner`'s EIP-712 signature of a claim of its claimable `token` balance to `to`."""
    nonce = system.escrow.functions.claimNonces(owner.address).call()
    message = claim_typed_data(
        owner.address,
        token,
        to,
        nonce,
        deadline,
        chain_id=system.chain.chain_id,
        contract=system.escrow.address,
    )
    return bytes(Account.sign_message(encode_typed_data(full_message=message), owner.key).signature)


# ----------------------------------------------------------------------------------------- escrow


def escrow_state(system: System, intent: PaymentIntent, payer: str | None = None) -> dict[str, Any]:
    """SluiceEscrow.getEscrow as a dict keyed by the struct's field names, for the intent completed
    with its payer (`payer`, else the intent's own, else the system's payer)."""
    fields = ("key", "payer", "status", "deposited", "captured", "refunded", "released")
    completed = held(system, intent, payer)
    return dict(zip(fields, system.escrow.functions.getEscrow(completed.as_tuple()).call(), strict=True))


def held(system: System, intent: PaymentIntent, payer: str | None = None) -> PaymentIntent:
    """The intent as the escrow keys it: completed with the address that deposited (an intent that
    names its payer is already complete). Defaults to the system's payer."""
    if payer is None:
        payer = intent.payer if intent.payer != ZERO else system.payer
    return replace(intent, payer=payer)


def capturable(system: System, intent: PaymentIntent, payer: str | None = None) -> int:
    return int(system.escrow.functions.capturable(held(system, intent, payer).as_tuple()).call())


# ------------------------------------------------------------------------------------------- flows


def token_at(system: System, address: str) -> Contract:
    """The system's token at `address` (any ERC-20 ABI would do for balances and approvals)."""
    for token in (system.usdc, system.usdt):
        if token.address == address:
            return token
    return system.chain.at("DevUSDC", address)


def approve(token: Contract, spender: str, amount: int, owner: str) -> None:
    send(token.functions.approve(spender, amount), owner)


def pay(
    system: System,
    intent: PaymentIntent,
    *,
    sender: str | None = None,
    value: int | None = None,
    signature: bytes | None = None,
    approve_first: bool = True,
) -> dict[str, Any]:
    """Pays an intent on SluicePayments as `sender` (the payer by default): approves exactly the
    amount for ERC-20, sends exactly the amount for the native coin, unless told otherwise."""
    sender = sender or system.payer
    if intent.token == ZERO:
        value = intent.amount if value is None else value
    elif approve_first:
        approve(token_at(system, intent.token), system.payments.address, intent.amount, sender)
    fn = system.payments.functions.pay(intent.as_tuple(), signature or system.sign(intent))
    return send(fn, sender, value or 0)


def deposit(
    system: System,
    intent: PaymentIntent,
    amount: int | None = None,
    *,
    sender: str | None = None,
    value: int | None = None,
    signature: bytes | None = None,
    approve_first: bool = True,
) -> dict[str, Any]:
    """Deposits into an intent's escrow as `sender` (the payer by default), the whole amount unless
    told otherwise, approving or sending exactly that much."""
    sender = sender or system.payer
    amount = intent.amount if amount is None else amount
    if intent.token == ZERO:
        value = amount if value is None else value
    elif approve_first:
        approve(token_at(system, intent.token), system.escrow.address, amount, sender)
    signature = signature or system.sign(intent, "escrow")
    fn = system.escrow.functions.deposit(intent.as_tuple(), signature, amount)
    return send(fn, sender, value or 0)


def open_escrow(system: System, **overrides: Any) -> PaymentIntent:
    """A new escrow intent, deposited in full by the payer; returned completed with its payer (as
    capture, refund, void and reclaim take it)."""
    intent = system.intent("escrow", **overrides)
    deposit(system, intent)
    return held(system, intent)


def call_as(system: System, fn: Any, caller: str) -> dict[str, Any]:
    """Sends `fn` as a named role: "relayer" or "operator" (keys signed locally) or a System account
    attribute such as "merchant"."""
    if caller == "relayer":
        return send_as(fn, system.chain.relayer)
    if caller == "operator":
        return send_as(fn, system.chain.operator)
    return send(fn, getattr(system, caller))
