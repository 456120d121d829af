"""The on-chain side of a stored intent: the signed struct, its typed data, and the ABI tuple."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sluice.chain.hashing import checksum
from sluice.chain.intents import (
    DOMAIN_NAMES,
    DOMAIN_VERSION,
    INTENT_TYPES,
    ZERO_ADDRESS,
    ContractKind,
    Split,
)
from sluice.chain.intents import PaymentIntent as OnchainIntent
from sluice.intents.status import CaptureMethod

if TYPE_CHECKING:
    from sluice.intents.record import IntentRecord


def contract_kind_of(capture_method: str) -> ContractKind:
    """The contract an intent is paid through: SluicePayments (automatic) or SluiceEscrow (manual)."""
    return "payments" if CaptureMethod(capture_method) == CaptureMethod.automatic else "escrow"


def contract_kind(intent: IntentRecord) -> ContractKind:
    return contract_kind_of(intent.capture_method)


def to_onchain(intent: IntentRecord) -> OnchainIntent:
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


@lru_cache(maxsize=256)
def _domain(chain_id: int, contract: str, kind: ContractKind) -> dict[str, Any]:
    return {
        "name": DOMAIN_NAMES[kind],
        "version": DOMAIN_VERSION,
        "chainId": chain_id,
        "verifyingContract": checksum(contract),
    }


#: The typed data's `types`, as `typed_data` builds them (the same for every intent).
_TYPES: dict[str, Any] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    **INTENT_TYPES,
}


def onchain_json(intent: IntentRecord) -> dict[str, Any]:
    """The intent's on-chain part of its API view (`OnchainPublic`): the signed struct, numbers that may
    exceed 2**53 as strings, bytes as 0x-hex, and its EIP-712 typed data, built directly (no struct, no
    typed-data rebuild: the indexer builds one per outbox event).

    The `types` and `domain` parts are shared, memoized objects: treat the result as read-only (it is
    serialised, never mutated). tests/api/test_intent_views.py proves it equal to
    `sluice.chain.intents.typed_data` of `to_onchain(intent)`, the struct the operator signed.
    """
    kind = contract_kind_of(intent.capture_method)
    reclaim_after = intent.reclaim_after
    message = {
        "id": "0x" + bytes(intent.onchain_id).hex(),
        "nonce": str(int(intent.nonce)),
        "token": checksum(intent.token_address or ZERO_ADDRESS),
        "amount": str(int(intent.amount)),
        "payer": checksum(intent.payer or ZERO_ADDRESS),
        "deadline": str(int(intent.deadline.timestamp())),
        "merchant": checksum(intent.payout_address),
        "splits": [{"recipient": checksum(s["recipient"]), "bps": int(s["bps"])} for s in intent.splits],
        "reclaimAfter": str(int(reclaim_after.timestamp()) if reclaim_after else 0),
        "allowPartial": bool(intent.allow_partial),
    }
    return {
        "chain_id": intent.chain_id,
        "contract": intent.contract_address,
        "kind": kind,
        "intent": message,
        "signature": "0x" + bytes(intent.signature).hex(),
        "typed_data": {
            "types": _TYPES,
            "primaryType": "PaymentIntent",
            "domain": _domain(intent.chain_id, intent.contract_address, kind),
            "message": message,
        },
    }
