"""EIP-712 payment intents as the contracts verify them: the one Python source of the type strings.

`SluiceBase.sol` declares the same types; tests/contracts check that the contract's INTENT_TYPEHASH
equals `INTENT_TYPEHASH` here, so the two cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from sluice.chain.hashing import checksum, keccak

ContractKind = Literal["payments", "escrow"]

#: EIP-712 domain name of each contract (version "1"); the domain also binds chain id and address.
DOMAIN_NAMES: dict[ContractKind, str] = {"payments": "Sluice Payments", "escrow": "Sluice Escrow"}
DOMAIN_VERSION = "1"

#: The typed-data types, in the shape eth-account and wallets (eth_signTypedData_v4) take.
INTENT_TYPES: dict[str, list[dict[str, str]]] = {
    "PaymentIntent": [
        {"name": "id", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "token", "type": "address"},
        {"name": "amount", "type": "uint256"},
        {"name": "payer", "type": "address"},
        {"name": "deadline", "type": "uint256"},
        {"name": "merchant", "type": "address"},
        {"name": "splits", "type": "Split[]"},
        {"name": "reclaimAfter", "type": "uint256"},
        {"name": "allowPartial", "type": "bool"},
    ],
    "Split": [
        {"name": "recipient", "type": "address"},
        {"name": "bps", "type": "uint16"},
    ],
}


def _referenced(primary: str) -> set[str]:
    """The struct types `primary` refers to, directly or through other structs."""
    found: set[str] = set()
    pending = [primary]
    while pending:
        for member in INTENT_TYPES[pending.pop()]:
            name = member["type"].removesuffix("[]")
            if name in INTENT_TYPES and name != primary and name not in found:
                found.add(name)
                pending.append(name)
    return found


def encode_type(primary: str = "PaymentIntent") -> str:
    """The EIP-712 `encodeType` string: the primary type, then the types it references, by name."""
    referenced = sorted(_referenced(primary))

    def one(name: str) -> str:
        members = ",".join(f"{m['type']} {m['name']}" for m in INTENT_TYPES[name])
        return f"{name}({members})"

    return one(primary) + "".join(one(t) for t in referenced)


INTENT_TYPEHASH = keccak(encode_type("PaymentIntent").encode())
SPLIT_TYPEHASH = keccak(encode_type("Split").encode())
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

#: SluiceEscrow's `Claim`: the owner of a claimable balance (a payout the token or the receiver
#: refused) sends it to an address of its choice, signed so that anyone can relay it.
CLAIM_TYPES: dict[str, list[dict[str, str]]] = {
    "Claim": [
        {"name": "account", "type": "address"},
        {"name": "token", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}
CLAIM_TYPEHASH = keccak(
    ("Claim(" + ",".join(f"{m['type']} {m['name']}" for m in CLAIM_TYPES["Claim"]) + ")").encode()
)
_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


@dataclass(frozen=True)
class Split:
    """A payee's share of every payment or capture, in basis points."""

    recipient: str
    bps: int


@dataclass(frozen=True)
class PaymentIntent:
    """The intent fields the operator signs; amounts in base units (int), never floats."""

    id: bytes
    nonce: int
    token: str
    amount: int
    payer: str
    deadline: int
    merchant: str
    splits: tuple[Split, ...] = field(default_factory=tuple)
    reclaim_after: int = 0
    allow_partial: bool = False

    def message(self) -> dict[str, Any]:
        """The typed-data message (camelCase field names, as in Solidity)."""
        return {
            "id": self.id,
            "nonce": self.nonce,
            "token": checksum(self.token),
            "amount": self.amount,
            "payer": checksum(self.payer),
            "deadline": self.deadline,
            "merchant": checksum(self.merchant),
            "splits": [{"recipient": checksum(s.recipient), "bps": s.bps} for s in self.splits],
            "reclaimAfter": self.reclaim_after,
            "allowPartial": self.allow_partial,
        }

    def as_tuple(self) -> tuple[Any, ...]:
        """The ABI tuple for the contracts' `PaymentIntent calldata` parameter."""
        m = self.message()
        return (
            m["id"],
            m["nonce"],
            m["token"],
            m["amount"],
            m["payer"],
            m["deadline"],
            m["merchant"],
            [(s["recipient"], s["bps"]) for s in m["splits"]],
            m["reclaimAfter"],
            m["allowPartial"],
        )


def new_intent_id() -> bytes:
    """A random 32-byte on-chain intent id."""
    return os.urandom(32)


def typed_data(intent: PaymentIntent, *, chain_id: int, contract: str, kind: ContractKind) -> dict[str, Any]:
    """The full EIP-712 typed data (domain bound to chain id and contract address)."""
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, **INTENT_TYPES},
        "primaryType": "PaymentIntent",
        "domain": {
            "name": DOMAIN_NAMES[kind],
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": checksum(contract),
        },
        "message": intent.message(),
    }


def sign_intent(
    intent: PaymentIntent, private_key: str | bytes, *, chain_id: int, contract: str, kind: ContractKind
) -> bytes:
    """The operator's 65-byte signature of the intent for one contract on one chain."""
    # Imported on first use: eth_account costs ~0.3 s of start-up that the indexer never needs.
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signable = encode_typed_data(
        full_message=typed_data(intent, chain_id=chain_id, contract=contract, kind=kind)
    )
    signed = Account.sign_message(signable, private_key)
    return bytes(signed.signature)


def claim_typed_data(
    account: str, token: str, to: str, nonce: int, deadline: int, *, chain_id: int, contract: str
) -> dict[str, Any]:
    """The EIP-712 typed data (eth_signTypedData_v4 shape) of a claim on one escrow contract."""
    return {
        "types": {"EIP712Domain": _DOMAIN_TYPE, **CLAIM_TYPES},
        "primaryType": "Claim",
        "domain": {
            "name": DOMAIN_NAMES["escrow"],
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": checksum(contract),
        },
        "message": {
            "account": checksum(account),
            "token": checksum(token),
            "to": checksum(to),
            "nonce": nonce,
            "deadline": deadline,
        },
    }
