"""What creating an intent takes, validated once at the edge (API schemas build these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sluice.models.payment_intent import CaptureMethod

MAX_UINT256 = 2**256 - 1
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500


@dataclass(frozen=True)
class SplitSpec:
    recipient: str
    bps: int


@dataclass(frozen=True)
class PriceSpec:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class CreateIntent:
    network: str
    asset: str
    amount: int | None = None
    price: PriceSpec | None = None
    quote_id: str | None = None
    capture_method: CaptureMethod = CaptureMethod.automatic
    expires_in: int | None = None
    splits: tuple[SplitSpec, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    payer: str | None = None
    allow_partial: bool = False
    #: The rail to pay through (sluice.rails); the network's first by default.
    rail: str | None = None
    #: How the payer may pay ("contract_call", "deposit_address"; other families: their rail's name),
    #: the first is the intent's rail; None: the `rail` (or the network's default) alone.
    payment_method_types: tuple[str, ...] | None = None
