"""SLUICE_PRICE_SOURCE=chainlink: the configured feeds on a real anvil price a quote end to end."""

from decimal import ROUND_CEILING, Decimal

import pytest

from sluice.chain.registry import get_registry
from sluice.config import Settings
from sluice.errors import SluiceValueError
from sluice.pricing.factory import build_price_source
from sluice.pricing.quotes import make_quote

from chains import anvil_chain, run_anvil

pytestmark = pytest.mark.chain


@pytest.fixture
def feed(monkeypatch):
    with run_anvil() as url:
        chain = anvil_chain(url)
        aggregator = chain.deploy("MockAggregatorV3", 8, "ETH / USD", 2000_50000000)  # 2000.5 with 8 decimals
        monkeypatch.setenv("SLUICE_RPC_URL_LOCAL", url)
        get_registry.cache_clear()
        yield aggregator.address
    get_registry.cache_clear()


async def test_chainlink_source_from_settings_quotes_eth_and_pegs_stablecoins(feed):
    settings = Settings(
        env="test",
        price_source="chainlink",
        chainlink_network="local",
        chainlink_feeds={"ETH/usd": {"address": feed, "heartbeat": 3600}},
    )
    source = build_price_source(settings)
    quote = await make_quote(source, "25.00", "usd", "ETH", 18)
    expected = (Decimal("25.00") * 10**18 / Decimal("2000.5")).to_integral_value(rounding=ROUND_CEILING)
    assert quote.amount == int(expected) and quote.source == "chainlink"
    stable = await make_quote(source, "25.00", "usd", "USDC", 6)
    assert stable.amount == 25_000_000


def test_malformed_feed_configuration_is_a_clear_error():
    settings = Settings(
        env="test", price_source="chainlink", chainlink_network="local", chainlink_feeds={"ETHusd": {}}
    )
    with pytest.raises(SluiceValueError, match="Chainlink feeds look like"):
        build_price_source(settings)
