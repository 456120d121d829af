"""Chainlink feed reader against a real anvil node with MockAggregatorV3 deployed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pricing_fakes import FakeClock
from web3.contract import Contract

from sluice.errors import (
    InvalidPriceError,
    PricingUnavailableError,
    SluiceValueError,
    StalePriceError,
    UnsupportedPairError,
)
from sluice.pricing import ChainlinkFeed, ChainlinkPriceSource, Rate

from chains import Chain, anvil_chain, free_port

pytestmark = pytest.mark.chain

#: A fixed wall clock: feed timestamps in these tests are set relative to it, not to the chain's time.
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())


@pytest.fixture(scope="module")
def anvil(anvil_url: str) -> Chain:
    return anvil_chain(anvil_url)


@pytest.fixture(scope="module")
def feed(anvil: Chain) -> Contract:
    """ETH / USD with 8 decimals, like Chainlink's mainnet feed."""
    return anvil.deploy("MockAggregatorV3", 8, "ETH / USD", 3000_00000000)


@pytest.fixture
def set_round(anvil: Chain, feed: Contract) -> Iterator[object]:
    snapshot = anvil.snapshot()

    def set_round(round_id: int, answer: int, updated_at: int, answered_in: int | None = None) -> None:
        tx = feed.functions.setRoundData(
            round_id, answer, updated_at, updated_at, round_id if answered_in is None else answered_in
        ).transact({"from": anvil.accounts[0].address})
        anvil.w3.eth.wait_for_transaction_receipt(tx)

    yield set_round
    anvil.revert(snapshot)


def read(
    url: str, feeds: list[ChainlinkFeed], base: str = "ETH", quote: str = "usd", **kwargs: object
) -> Rate:
    async def main() -> Rate:
        async with ChainlinkPriceSource(url, feeds, clock=FakeClock(NOW), timeout=5, **kwargs) as source:  # type: ignore[arg-type]
            return await source.rate(base, quote)

    return asyncio.run(main())


def eth_feed(feed: Contract, heartbeat: int = 3600) -> list[ChainlinkFeed]:
    return [ChainlinkFeed("ETH", "usd", feed.address, heartbeat=timedelta(seconds=heartbeat))]


def test_answer_is_scaled_by_decimals_exactly(anvil_url, feed, set_round):
    set_round(7, 3000_12345678, T - 60)
    rate = read(anvil_url, eth_feed(feed))
    assert rate.value == Decimal("3000.12345678")
    assert isinstance(rate.value, Decimal)
    assert (rate.base, rate.quote, rate.source) == ("ETH", "usd", "chainlink")
    assert rate.observed_at == NOW - timedelta(seconds=60)


def test_eighteen_decimal_feed_keeps_every_digit(anvil, anvil_url, feed, set_round):
    anvil.w3.eth.wait_for_transaction_receipt(
        feed.functions.setDecimals(18).transact({"from": anvil.accounts[0].address})
    )
    set_round(2, 1_000123456789012345, T)
    assert read(anvil_url, eth_feed(feed)).value == Decimal("1.000123456789012345")


def test_answer_older_than_heartbeat_is_rejected_as_stale(anvil_url, feed, set_round):
    set_round(3, 3000_00000000, T - 3601)
    with pytest.raises(StalePriceError, match="heartbeat of 3600 s"):
        read(anvil_url, eth_feed(feed))


def test_answer_exactly_one_heartbeat_old_is_accepted(anvil_url, feed, set_round):
    set_round(3, 3000_00000000, T - 3600)
    assert read(anvil_url, eth_feed(feed)).value == Decimal(3000)


@pytest.mark.parametrize("answer", [0, -1, -3000_00000000])
def test_non_positive_answer_is_rejected(anvil_url, feed, set_round, answer):
    set_round(4, answer, T)
    with pytest.raises(InvalidPriceError, match="not positive"):
        read(anvil_url, eth_feed(feed))


def test_round_without_update_time_is_rejected_as_incomplete(anvil_url, feed, set_round):
    set_round(5, 3000_00000000, 0)
    with pytest.raises(InvalidPriceError, match="incomplete"):
        read(anvil_url, eth_feed(feed))


def test_answer_carried_over_from_an_earlier_round_is_rejected(anvil_url, feed, set_round):
    set_round(6, 3000_00000000, T, answered_in=5)
    with pytest.raises(InvalidPriceError, match="incomplete"):
        read(anvil_url, eth_feed(feed))


def test_answer_dated_in_the_future_is_rejected(anvil_url, feed, set_round):
    set_round(6, 3000_00000000, T + 3600)
    with pytest.raises(InvalidPriceError, match="in the future"):
        read(anvil_url, eth_feed(feed))


def test_pair_without_a_feed_is_unsupported(anvil_url, feed):
    with pytest.raises(UnsupportedPairError):
        read(anvil_url, eth_feed(feed), base="BTC")


def test_address_without_a_contract_is_unavailable(anvil_url):
    empty = [ChainlinkFeed("ETH", "usd", "0x" + "00" * 19 + "42")]
    with pytest.raises(PricingUnavailableError, match="RPC call failed"):
        read(anvil_url, empty)


def test_rpc_on_another_chain_is_refused(anvil_url, feed, set_round):
    set_round(7, 3000_00000000, T)
    with pytest.raises(PricingUnavailableError, match="configured for chain 1"):
        read(anvil_url, eth_feed(feed), chain_id=1)
    assert read(anvil_url, eth_feed(feed), chain_id=31337).value == Decimal(3000)


def test_unreachable_rpc_is_unavailable(feed):
    with pytest.raises(PricingUnavailableError):
        read(f"http://127.0.0.1:{free_port()}", eth_feed(feed))


def test_feed_config_is_validated():
    with pytest.raises(SluiceValueError, match="not an address"):
        ChainlinkFeed("ETH", "usd", "0x1234")
    with pytest.raises(SluiceValueError, match="heartbeat"):
        ChainlinkFeed("ETH", "usd", "0x" + "00" * 20, heartbeat=timedelta(0))
    feed = ChainlinkFeed("eth", "USD", "0x" + "ab" * 20)
    assert feed.pair == ("ETH", "usd")
    with pytest.raises(SluiceValueError, match="two Chainlink feeds"):
        ChainlinkPriceSource("http://127.0.0.1:1", [feed, feed])
