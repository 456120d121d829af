"""Stacks payment intents as sluice-payments verifies them: SIP-018 structured data signed by the
operator key.

The hash is sha256("SIP018" ‖ sha256(domain) ‖ sha256(intent)) over the Clarity serializations of
a domain tuple {name, version, chain-id, verifying-contract} and the intent tuple. The domain carries
the chain id and the contract (like EIP-712's chainId + verifyingContract), so a signature is good on
one deployment of one chain only. The contract's `intent-hash` read-only computes the same hash;
tests/rails/stacks run the contract on simnet against signatures made here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from coincurve import PrivateKey

from sluice.errors import SluiceValueError
from sluice.rails.stacks.clarity import (
    Bool,
    Buffer,
    ClarityValue,
    Principal,
    StringAscii,
    Tuple,
    UInt,
    list_of,
    optional,
)

SIP018_PREFIX = b"SIP018"
DOMAIN_NAME = "sluice-payments"
DOMAIN_VERSION = "1"
#: The contract's bounds (MAX_FEE_BPS and the list length of `splits`).
MAX_FEE_BPS = 5_000
MAX_SPLITS = 5


@dataclass(frozen=True)
class Split:
    """A payee's share of every payment or capture, in basis points."""

    recipient: str
    bps: int


@dataclass(frozen=True)
class StacksIntent:
    """A payment intent as the contract's `intent` tuple takes it (field names in Clarity style below)."""

    #: The gateway's random 32-byte on-chain id.
    id: bytes
    nonce: int
    #: SIP-010 token contract (`SP….sbtc-token`), or None for STX.
    token: str | None
    amount: int
    #: The only principal allowed to pay, or None for anyone.
    payer: str | None
    #: Unix seconds; compared with the block's `stacks-block-time`.
    deadline: int
    merchant: str
    splits: tuple[Split, ...] = ()
    #: Escrow only: unix seconds from which the payer may reclaim; 0 for direct payments.
    reclaim_after: int = 0
    #: Escrow only: whether several deposits may add up to the amount.
    allow_partial: bool = False

    def __post_init__(self) -> None:
        if len(self.id) != 32:
            raise SluiceValueError("a Stacks intent id is 32 bytes", param="id")
        if self.amount <= 0:
            raise SluiceValueError("amount must be positive", param="amount")
        if len(self.splits) > MAX_SPLITS:
            raise SluiceValueError(f"at most {MAX_SPLITS} splits", param="splits")
        if sum(s.bps for s in self.splits) > MAX_FEE_BPS or any(s.bps < 0 for s in self.splits):
            raise SluiceValueError(f"splits must total 0 … {MAX_FEE_BPS} basis points", param="splits")

    @property
    def is_escrow(self) -> bool:
        return self.reclaim_after != 0 or self.allow_partial

    def to_clarity(self) -> Tuple:
        """The contract's `intent` argument."""
        return Tuple(
            {
                "id": Buffer(self.id),
                "nonce": UInt(self.nonce),
                "token": optional(None if self.token is None else Principal(self.token)),
                "amount": UInt(self.amount),
                "payer": optional(None if self.payer is None else Principal(self.payer)),
                "deadline": UInt(self.deadline),
                "merchant": Principal(self.merchant),
                "splits": list_of(
                    [Tuple({"recipient": Principal(s.recipient), "bps": UInt(s.bps)}) for s in self.splits]
                ),
                "reclaim-after": UInt(self.reclaim_after),
                "allow-partial": Bool(self.allow_partial),
            }
        )


def split_amounts(amount: int, splits: Sequence[Split]) -> tuple[int, tuple[int, ...]]:
    """The merchant's part and each split's part, exactly as the contract computes them."""
    fees = tuple(amount * s.bps // 10_000 for s in splits)
    return amount - sum(fees), fees


def domain(chain_id: int, contract: str) -> Tuple:
    """The SIP-018 domain of one deployment of sluice-payments on one chain."""
    return Tuple(
        {
            "name": StringAscii(DOMAIN_NAME),
            "version": StringAscii(DOMAIN_VERSION),
            "chain-id": UInt(chain_id),
            "verifying-contract": Principal(contract),
        }
    )


def structured_data_hash(message: ClarityValue, domain_value: ClarityValue) -> bytes:
    """The SIP-018 message hash of `message` under `domain_value`."""
    return hashlib.sha256(
        SIP018_PREFIX
        + hashlib.sha256(domain_value.serialize()).digest()
        + hashlib.sha256(message.serialize()).digest()
    ).digest()


def intent_hash(intent: StacksIntent, chain_id: int, contract: str) -> bytes:
    """What the operator signs; equal to the contract's `intent-hash`."""
    return structured_data_hash(intent.to_clarity(), domain(chain_id, contract))


def sign_intent(intent: StacksIntent, chain_id: int, contract: str, operator_key: bytes) -> bytes:
    """The operator's 65-byte recoverable signature (r ‖ s ‖ recovery id, low s) of the intent."""
    return sign_hash(intent_hash(intent, chain_id, contract), operator_key)


def sign_hash(digest: bytes, private_key: bytes) -> bytes:
    """A recoverable secp256k1 signature of a 32-byte digest, in the RSV order Clarity's
    `secp256k1-recover?` takes. `private_key` is 32 bytes (a trailing 0x01 compression flag, as
    Stacks wallets export keys, is accepted)."""
    return PrivateKey(_secret(private_key)).sign_recoverable(digest, hasher=None)


def public_key(private_key: bytes) -> bytes:
    """The compressed public key the contract stores (`rotate-signer`)."""
    return PrivateKey(_secret(private_key)).public_key.format(compressed=True)


def _secret(private_key: bytes) -> bytes:
    if len(private_key) == 33 and private_key[-1] == 1:
        return private_key[:32]
    if len(private_key) != 32:
        raise SluiceValueError("a secp256k1 private key is 32 bytes (33 with the 0x01 flag)")
    return private_key
