"""The price source the settings ask for."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sluice.config import Settings
from sluice.errors import SluiceValueError
from sluice.pricing.base import PriceSource
from sluice.pricing.chainlink import ChainlinkFeed, ChainlinkPriceSource
from sluice.pricing.coingecko import CoinGeckoPriceSource
from sluice.pricing.composite import CompositePriceSource
from sluice.pricing.fixed import FixedPriceSource
from sluice.pricing.stable import StablecoinPriceSource


def parse_fixed_rates(rates: dict[str, Decimal]) -> dict[tuple[str, str], Decimal]:
    """`{"ETH/usd": Decimal("3000")}` → `{("ETH", "usd"): Decimal("3000")}`."""
    parsed: dict[tuple[str, str], Decimal] = {}
    for pair, value in rates.items():
        base, sep, quote = pair.partition("/")
        if not sep or not base or not quote:
            raise SluiceValueError(f"fixed rate keys look like 'ETH/usd', got {pair!r}")
        parsed[(base.upper(), quote.lower())] = Decimal(value)
    return parsed


def build_price_source(settings: Settings) -> PriceSource:
    """Stablecoins 1:1 behind the depeg guard, then the configured market source."""
    market: PriceSource
    if settings.price_source == "chainlink":
        market = chainlink_source(settings)
        peg = StablecoinPriceSource(market, band=settings.depeg_band, require_reference=False)
    elif settings.price_source == "coingecko":
        market = CoinGeckoPriceSource(
            base_url=settings.coingecko_url, api_key=settings.coingecko_api_key, plan=settings.coingecko_plan
        )
        # Live quotes must not treat a stablecoin as 1:1 when its market price cannot be checked.
        peg = StablecoinPriceSource(market, band=settings.depeg_band, require_reference=True)
    else:
        market = FixedPriceSource(parse_fixed_rates(settings.fixed_rates))
        peg = StablecoinPriceSource(market, band=settings.depeg_band, require_reference=False)
    return CompositePriceSource([peg, market])


def chainlink_source(settings: Settings) -> ChainlinkPriceSource:
    """Feeds from SLUICE_CHAINLINK_FEEDS read over the RPC of SLUICE_CHAINLINK_NETWORK."""
    from sluice.chain.registry import get_registry

    network = get_registry().network(settings.chainlink_network)
    feeds = []
    for pair, spec in settings.chainlink_feeds.items():
        base, sep, quote = pair.partition("/")
        if not sep or "address" not in spec:
            raise SluiceValueError(
                f"Chainlink feeds look like {{'ETH/usd': {{'address': '0x…'}}}}, got {pair!r}"
            )
        heartbeat = timedelta(seconds=int(spec.get("heartbeat", 3600)))
        feeds.append(ChainlinkFeed(base, quote, str(spec["address"]), heartbeat))
    return ChainlinkPriceSource(network.rpc_url, feeds, chain_id=network.chain_id)
