"""Pricing: exchange rates from several sources and fiat -> asset quotes rounded in the merchant's favour."""

from typing import TYPE_CHECKING, Any

from sluice.pricing.base import Clock, PriceSource, Rate, utcnow
from sluice.pricing.coingecko import CoinGeckoPriceSource
from sluice.pricing.composite import CompositePriceSource
from sluice.pricing.currencies import MINOR_UNITS, minor_units
from sluice.pricing.fixed import FixedPriceSource
from sluice.pricing.quotes import Quote, make_quote, parse_fiat_amount, to_base_units
from sluice.pricing.stable import StablecoinPriceSource

if TYPE_CHECKING:
    from sluice.pricing.chainlink import ChainlinkFeed, ChainlinkPriceSource

__all__ = [
    "MINOR_UNITS",
    "ChainlinkFeed",
    "ChainlinkPriceSource",
    "Clock",
    "CoinGeckoPriceSource",
    "CompositePriceSource",
    "FixedPriceSource",
    "PriceSource",
    "Quote",
    "Rate",
    "StablecoinPriceSource",
    "make_quote",
    "minor_units",
    "parse_fiat_amount",
    "to_base_units",
    "utcnow",
]


def __getattr__(name: str) -> Any:
    """The Chainlink source on first use: it imports web3 (~0.5 s), which importing any module of
    this package (the indexer only needs `currencies`) would otherwise pay at start-up."""
    if name in ("ChainlinkFeed", "ChainlinkPriceSource"):
        from sluice.pricing import chainlink

        return getattr(chainlink, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
