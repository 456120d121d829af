"""Pricing: exchange rates from several sources and fiat -> asset quotes rounded in the merchant's favour.

The names below are loaded from their module on first use: importing any module of this package
runs this file, and the indexer, which only needs `currencies`, would otherwise import every price
source (the Chainlink one brings web3, ~0.5 s).
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sluice.pricing.base import Clock, PriceSource, Rate, utcnow
    from sluice.pricing.chainlink import ChainlinkFeed, ChainlinkPriceSource
    from sluice.pricing.coingecko import CoinGeckoPriceSource
    from sluice.pricing.composite import CompositePriceSource
    from sluice.pricing.currencies import MINOR_UNITS, minor_units
    from sluice.pricing.fixed import FixedPriceSource
    from sluice.pricing.quotes import Quote, make_quote, parse_fiat_amount, to_base_units
    from sluice.pricing.stable import StablecoinPriceSource

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

#: Each public name -> the module of this package that defines it.
_MODULES = {
    "Clock": "base",
    "PriceSource": "base",
    "Rate": "base",
    "utcnow": "base",
    "ChainlinkFeed": "chainlink",
    "ChainlinkPriceSource": "chainlink",
    "CoinGeckoPriceSource": "coingecko",
    "CompositePriceSource": "composite",
    "MINOR_UNITS": "currencies",
    "minor_units": "currencies",
    "FixedPriceSource": "fixed",
    "Quote": "quotes",
    "make_quote": "quotes",
    "parse_fiat_amount": "quotes",
    "to_base_units": "quotes",
    "StablecoinPriceSource": "stable",
}


def __getattr__(name: str) -> Any:
    """A public name, from its module (imported now if it was not yet)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
