"""The price source the settings ask for."""

from __future__ import annotations

from sluice.config import Settings
from sluice.pricing.base import PriceSource


def build_price_source(settings: Settings) -> PriceSource | None:
    """None until pricing is configured (fiat-priced intents then answer a clear 400)."""
    return None
