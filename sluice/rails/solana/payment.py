"""What one intent asks a Solana payer to pay: the amount, the asset, and each recipient's leg.

Sluice's EVM contract computes each split as `amount * bps // 10_000` and pays the merchant the
remainder (`SluiceBase._payout`); on Solana the payer's own transaction carries the legs, so the
same rule is computed here, once, for both the transaction builder and the validator: a payment is
judged against exactly the legs it was asked to pay.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from solders.pubkey import Pubkey

from sluice.errors import SluiceValueError
from sluice.rails.solana.addresses import canonical_wallet
from sluice.rails.solana.networks import get_solana_network

BPS = 10_000


@dataclass(frozen=True, slots=True)
class Split:
    """A split recipient's share of every payment, in basis points (as on EVM)."""

    recipient: str
    bps: int


@dataclass(frozen=True, slots=True)
class Leg:
    """One recipient wallet and the base units it must receive."""

    recipient: str
    amount: int


def split_amounts(amount: int, bps: Iterable[int]) -> tuple[int, tuple[int, ...]]:
    """(merchant's part, each split's part) of `amount`: splits rounded down, the merchant the rest."""
    fees = tuple(amount * b // BPS for b in bps)
    return amount - sum(fees), fees


@dataclass(frozen=True)
class SolanaPayment:
    """An intent as the Solana rail sees it. `reference` is the intent's 32-byte on-chain id, used
    as the Solana Pay reference key: random, so it can never match another intent's payment."""

    intent_id: str
    network: str
    asset: str
    #: The SPL mint (base58), or None for SOL.
    mint: str | None
    decimals: int
    amount: int
    merchant: str
    reference: bytes
    splits: tuple[Split, ...] = ()
    expires_at: datetime | None = None
    label: str | None = None
    message: str | None = None
    #: The only wallet allowed to pay, when the intent names one.
    payer: str | None = None

    def __post_init__(self) -> None:
        if len(self.reference) != 32:
            raise SluiceValueError("a Solana Pay reference is 32 bytes")
        if self.amount <= 0:
            raise SluiceValueError("a Solana payment's amount must be positive", param="amount")
        if sum(s.bps for s in self.splits) >= BPS or any(s.bps < 0 for s in self.splits):
            raise SluiceValueError(
                "splits must be non-negative and leave the merchant a share", param="splits"
            )

    @property
    def reference_key(self) -> Pubkey:
        return Pubkey.from_bytes(self.reference)

    @property
    def memo(self) -> str:
        """The memo the transaction carries: the intent's id, readable in any explorer."""
        return self.intent_id

    def legs(self) -> tuple[Leg, ...]:
        """Merchant first, then each split in order; legs of 0 base units are left out."""
        merchant_amount, fees = split_amounts(self.amount, (s.bps for s in self.splits))
        legs = [Leg(self.merchant, merchant_amount)]
        legs += [Leg(s.recipient, fee) for s, fee in zip(self.splits, fees, strict=True)]
        return tuple(leg for leg in legs if leg.amount > 0)

    def expected_by_recipient(self) -> dict[str, int]:
        """What each distinct wallet must receive (a wallet that is both merchant and split adds up)."""
        expected: dict[str, int] = {}
        for leg in self.legs():
            expected[leg.recipient] = expected.get(leg.recipient, 0) + leg.amount
        return expected


def payment_from_intent(intent: Any) -> SolanaPayment:
    """The rail's view of a stored payment intent (`sluice.models.PaymentIntent` or the same shape).

    Reads `id, network, asset, amount, payout_address, splits ([{"recipient", "bps"}]), onchain_id,
    expires_at` and, when present, `token_address, decimals, payer, description` (the mint and
    decimals stored with the intent win over this module's table); addresses are validated as
    wallets here.
    """
    network = get_solana_network(intent.network)
    asset = network.asset(intent.asset)
    mint = getattr(intent, "token_address", asset.address)
    decimals = getattr(intent, "decimals", None)
    payer = getattr(intent, "payer", None)
    raw_splits: Iterable[Mapping[str, Any]] = intent.splits or ()
    if isinstance(raw_splits, str | bytes):  # a JSONB column read without a codec
        raw_splits = json.loads(raw_splits)
    return SolanaPayment(
        intent_id=intent.id,
        network=network.name,
        asset=asset.symbol,
        mint=mint,
        decimals=asset.decimals if decimals is None else int(decimals),
        payer=canonical_wallet(payer, param="payer") if payer else None,
        amount=int(intent.amount),
        merchant=canonical_wallet(intent.payout_address, param="payout_address"),
        reference=bytes(intent.onchain_id),
        splits=tuple(
            Split(canonical_wallet(s["recipient"], param="splits"), int(s["bps"])) for s in raw_splits
        ),
        expires_at=intent.expires_at,
        message=getattr(intent, "description", None),
    )
