"""Refunds from deposit addresses: an over-payment, or a payment after expiry or cancel, sent back to an
address the merchant gives (never automatically to the sender: an exchange withdrawal comes from the
exchange's hot wallet, not from the customer).

Two steps, both over the API: `authorization` returns the EIP-712 `Refund` the merchant signs with its
payout key (`refund_typed_data`); `relay` checks the signature, sends SluiceDeposits' `refund` from the
relayer key through this process's relayer nonce manager (`Relayers.relay`, gas recorded per intent in
relay_transactions) and waits for it. The contract needs both: the merchant chooses where the money goes,
the gateway checks it refunds only what the intent does not owe the sweep (here):

- refundable = min(what the address holds now less what the sweep still takes, what was received
  beyond what the intent owes less what was refunded); an intent that `succeeded` owes its amount, an
  expired or canceled one nothing;
- native coin: a refund empties the address (the forwarder sends the rest to the merchant without the
  splits), so a succeeded intent's native address is refunded only after its sweep.

The indexer records the factory's `Refunded` as a `refunded` ledger entry (the intent's
`amount_refunded`); the refund object and its `refund.created` / `refund.succeeded` events are written
by sluice.refunds when the relayed transaction is mined.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.chain.hashing import checksum
from sluice.deposits.calldata import refund_typed_data
from sluice.deposits.terms import DepositTerms, factory_address
from sluice.errors import InvalidRequestError
from sluice.intents.record import IntentRecord
from sluice.models.chain import LedgerRow
from sluice.models.deposit_sweep import DepositSweep, SweepOutcome
from sluice.models.payment_intent import PaymentIntentStatus

if TYPE_CHECKING:
    from web3 import AsyncWeb3

    from sluice.chain.network_config import NetworkConfig
    from sluice.intents.relaying import Relayers, RelayResult

#: How long a refund authorization stays valid (seconds).
AUTHORIZATION_TTL = 3600
#: The relay_transactions action of a deposit refund.
REFUND_ACTION = "deposit_refund"


@dataclass(frozen=True)
class DepositRefund:
    """A refund the merchant authorizes: `amount` of the intent's asset from its deposit address to
    `destination` until `deadline`, and the typed data the merchant signs."""

    destination: str
    amount: int
    deadline: int
    typed_data: dict[str, Any]


def terms_of(intent: IntentRecord) -> DepositTerms:
    return DepositTerms.of(
        intent_ref=bytes(intent.onchain_id),
        chain_id=int(intent.chain_id),
        merchant=intent.payout_address,
        token=intent.token_address,
        amount=int(intent.amount),
        splits=intent.splits,
    )


async def _swept(session: AsyncSession, intent: IntentRecord) -> bool:
    """Whether the intent's amount left its address (a sweep mined, by the job or by anyone)."""
    found = await session.scalar(
        select(
            or_(
                exists().where(LedgerRow.payment_intent_id == intent.id, LedgerRow.kind == "swept"),
                exists().where(
                    DepositSweep.payment_intent_id == intent.id, DepositSweep.outcome == SweepOutcome.swept
                ),
            )
        )
    )
    return bool(found)


async def _held(w3: AsyncWeb3, token: str | None, address: str) -> int:
    if token is None:
        return int(await w3.eth.get_balance(checksum(address)))  # type: ignore[arg-type]
    data = "0x70a08231" + address[2:].lower().rjust(64, "0")
    raw = await w3.eth.call({"to": checksum(token), "data": data})  # type: ignore[typeddict-item]
    return int.from_bytes(bytes(raw), "big") if raw else 0


async def refundable(session: AsyncSession, w3: AsyncWeb3, intent: IntentRecord) -> int:
    """What the gateway lets the merchant refund from the intent's deposit address now."""
    status = PaymentIntentStatus(intent.status)
    received, refunded, amount = int(intent.amount_received), int(intent.amount_refunded), int(intent.amount)
    if status == PaymentIntentStatus.succeeded:
        swept = await _swept(session, intent)
        if intent.token_address is None and not swept:
            raise InvalidRequestError(
                "a native-coin deposit address is refunded only after its sweep (a refund empties the "
                "address); a native over-payment reaches your payout address with the sweep: refund it "
                "from your wallet",
                param="payment_intent",
                code="deposit_not_swept",
            )
        excess, owed = received - amount - refunded, 0 if swept else amount
    elif status in (PaymentIntentStatus.expired, PaymentIntentStatus.canceled):
        excess, owed = received - refunded, 0
    else:
        excess = owed = 0
    if excess <= 0:
        return 0
    assert intent.deposit_address is not None
    held = await _held(w3, intent.token_address, intent.deposit_address) - owed
    return max(min(held, excess), 0)


async def authorization(
    session: AsyncSession,
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: IntentRecord,
    destination: str,
    amount: int | None,
    *,
    deadline: int | None = None,
) -> DepositRefund:
    """Checks a refund of `amount` (default: all that is refundable) to `destination` and returns what
    the merchant signs. Raises InvalidRequestError (400) with `nothing_refundable`, `amount_too_large`,
    `invalid_address`, `refund_unsupported`, `authorization_expired` (a `deadline` already past)."""
    from sluice.merchants.payout import check_address

    if intent.deposit_address is None:
        raise InvalidRequestError(
            "this payment intent has no deposit address: only deposit-address payments are refunded this way",
            param="payment_intent",
            code="refund_unsupported",
        )
    if deadline is not None and deadline < int(time.time()):
        raise InvalidRequestError(
            "the refund authorization expired: ask for a new one",
            param="deadline",
            code="authorization_expired",
        )
    to = check_address(destination, "destination")
    if to.lower() == intent.deposit_address.lower():
        raise InvalidRequestError(
            "destination is the intent's own deposit address", param="destination", code="invalid_address"
        )
    available = await refundable(session, w3, intent)
    if available == 0:
        raise InvalidRequestError(
            "nothing to refund: no over-payment or late payment is held at the deposit address",
            param="payment_intent",
            code="nothing_refundable",
        )
    value = available if amount is None else amount
    if value <= 0 or value > available:
        raise InvalidRequestError(
            f"amount must be between 1 and {available} (what is refundable now)",
            param="amount",
            code="amount_too_large",
        )
    until = deadline if deadline is not None else int(time.time()) + AUTHORIZATION_TTL
    typed = refund_typed_data(
        factory_address(network), terms_of(intent), intent.token_address, to, value, until
    )
    return DepositRefund(to, value, until, typed)


def check_signature(intent: IntentRecord, refund: DepositRefund, signature: str) -> bytes:
    """The merchant's signature of the refund as bytes; InvalidRequestError (`invalid_signature`) when it
    is malformed or another key signed (a contract merchant's ERC-1271 signature is left to the chain)."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError as exc:
        raise InvalidRequestError(
            "merchant_signature is not hex", param="merchant_signature", code="invalid_signature"
        ) from exc
    if len(raw) == 65:
        try:
            signer = Account.recover_message(encode_typed_data(full_message=refund.typed_data), signature=raw)
        except Exception as exc:
            raise InvalidRequestError(
                "merchant_signature cannot be recovered", param="merchant_signature", code="invalid_signature"
            ) from exc
        if signer.lower() != intent.payout_address.lower():
            raise InvalidRequestError(
                f"the refund was signed by {signer}, not by the intent's payout address "
                f"{intent.payout_address} (sign the typed data of this amount, destination and deadline)",
                param="merchant_signature",
                code="invalid_signature",
            )
    elif not raw:
        raise InvalidRequestError(
            "merchant_signature is empty", param="merchant_signature", code="invalid_signature"
        )
    return raw


async def relay(
    session: AsyncSession,
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: IntentRecord,
    refund: DepositRefund,
    signature: bytes,
    relayers: Relayers,
    *,
    timeout: float = 120.0,
) -> RelayResult:
    """Sends SluiceDeposits' `refund` from the relayer (estimated first: a refusal raises
    TransactionRevertedError naming the contract's error) and waits for it to be mined."""
    from sluice.deposits.transactions import build_refund

    if refund.deadline < int(time.time()):
        raise InvalidRequestError(
            "the refund authorization expired: ask for a new one",
            param="deadline",
            code="authorization_expired",
        )
    manager = relayers.manager(network)
    built = await build_refund(
        w3,
        network,
        terms_of(intent),
        token=intent.token_address,
        to=refund.destination,
        amount=refund.amount,
        deadline=refund.deadline,
        merchant_signature=signature,
        relayer=manager.account.address,
    )
    return await relayers.relay(
        session, network, intent, REFUND_ACTION, dict(built.call), built.gas, timeout=timeout
    )
