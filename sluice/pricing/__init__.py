"""Pricing: exchange rates from several sources and fiat -> asset quotes rounded in the merchant's favour."""

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
