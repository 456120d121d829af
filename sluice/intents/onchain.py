"""The on-chain side of a stored intent: the signed struct, its typed data, and the ABI tuple."""

from __future__ import annotations

from typing import Any

from sluice.chain.intents import ZERO_ADDRESS, ContractKind, Split, typed_data
from sluice.chain.intents import PaymentIntent as OnchainIntent
from sluice.models.payment_intent import CaptureMethod, PaymentIntent


def contract_kind(intent: PaymentIntent) -> ContractKind:
    return "payments" if intent.capture_method == CaptureMethod.automatic else "escrow"


def to_onchain(intent: PaymentIntent) -> OnchainIntent:
    """Rebuilds exactly the struct the operator signed."""
    return OnchainIntent(
        id=bytes(intent.onchain_id),
        nonce=int(intent.nonce),
        token=intent.token_address or ZERO_ADDRESS,
        amount=int(intent.amount),
        payer=intent.payer or ZERO_ADDRESS,
        deadline=int(intent.deadline.timestamp()),
        merchant=intent.payout_address,
        splits=tuple(Split(s["recipient"], int(s["bps"])) for s in intent.splits),
        reclaim_after=int(intent.reclaim_after.timestamp()) if intent.reclaim_after else 0,
        allow_partial=bool(intent.allow_partial),
    )


def onchain_view(intent: PaymentIntent) -> dict[str, Any]:
    """JSON view: numbers that may exceed 2**53 as strings, bytes as 0x-hex."""
    onchain = to_onchain(intent)
    kind = contract_kind(intent)
    data = typed_data(onchain, chain_id=intent.chain_id, contract=intent.contract_address, kind=kind)
    message = dict(data["message"])
    for key in ("nonce", "amount", "deadline", "reclaimAfter"):
        message[key] = str(message[key])
    message["id"] = "0x" + onchain.id.hex()
    data = {**data, "message": message}
    return {
        "chain_id": intent.chain_id,
        "contract": intent.contract_address,
        "kind": kind,
        "intent": message,
        "signature": "0x" + bytes(intent.signature).hex(),
        "typed_data": data,
    }
