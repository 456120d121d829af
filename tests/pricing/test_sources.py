"""Fixed rates, the stablecoin peg with its depeg guard, and fallback across sources."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from pricing_fakes import FakeClock

from sluice.errors import (
    InvalidPriceError,
    PricingUnavailableError,
    SluiceValueError,
    StablecoinDepegError,
    UnsupportedPairError,
)
from sluice.pricing import (
    CompositePriceSource,
    FixedPriceSource,
    PriceSource,
    Rate,
    StablecoinPriceSource,
)

T = TypeVar("T")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class Failing:
    """A source that is down: what CoinGecko or an RPC looks like during an outage."""

    name = "down"

    def __init__(self, retry_after: float | None = None) -> None:
        self.calls = 0
        self.retry_after = retry_after

    async def rate(self, base: str, quote: str) -> Rate:
        self.calls += 1
        raise PricingUnavailableError(f"{self.name} is down", retry_after=self.retry_after)


def reference(usdc_usd: str) -> FixedPriceSource:
    return FixedPriceSource({("USDC", "usd"): Decimal(usdc_usd)}, clock=FakeClock(NOW))


# ----------------------------------------------------------------------------- fixed


def test_fixed_source_answers_configured_decimal_rate():
    source = FixedPriceSource({("eth", "USD"): Decimal("3000.50")}, clock=FakeClock(NOW))
    rate = run(source.rate("ETH", "usd"))
    assert rate == Rate("ETH", "usd", Decimal("3000.50"), "fixed", NOW)
    assert isinstance(source, PriceSource)


def test_fixed_source_refuses_unconfigured_pair():
    with pytest.raises(UnsupportedPairError, match="BNB/usd"):
        run(FixedPriceSource({("ETH", "usd"): Decimal(3000)}).rate("BNB", "usd"))


@pytest.mark.parametrize("value", [3000.5, 3000, Decimal(0), Decimal(-1), Decimal("NaN"), "3000"])
def test_fixed_source_refuses_non_decimal_or_non_positive_config(value):
    with pytest.raises(SluiceValueError):
        FixedPriceSource({("ETH", "usd"): value})


@pytest.mark.parametrize("value", [3000.5, 3000, Decimal(0), Decimal("-2"), Decimal("Infinity")])
def test_rate_itself_refuses_floats_ints_and_non_positive_values(value):
    with pytest.raises(InvalidPriceError):
        Rate("ETH", "usd", value, "test", NOW)


def test_rate_refuses_naive_observation_time():
    with pytest.raises(SluiceValueError, match="timezone-aware"):
        Rate("ETH", "usd", Decimal(1), "test", datetime(2026, 1, 1))


# ----------------------------------------------------------------------------- stablecoin peg


@pytest.mark.parametrize("observed", ["1", "0.9998", "1.0150", "0.98", "1.02"])
def test_stablecoin_within_band_is_quoted_one_to_one(observed):
    source = StablecoinPriceSource(reference(observed), clock=FakeClock(NOW))
    rate = run(source.rate("usdc", "USD"))
    assert rate.value == Decimal(1)
    assert rate.source == "peg:fixed"
    assert (rate.base, rate.quote) == ("USDC", "usd")


@pytest.mark.parametrize("observed", ["0.9799", "0.85", "1.0201"])
def test_stablecoin_outside_band_is_refused_as_depegged(observed):
    source = StablecoinPriceSource(reference(observed))
    with pytest.raises(StablecoinDepegError, match="outside the") as info:
        run(source.rate("USDC", "usd"))
    assert info.value.code == "stablecoin_depeg"
    assert (info.value.asset, info.value.observed, info.value.band) == ("USDC", observed, "0.02")


def test_depeg_band_is_configurable():
    tight = StablecoinPriceSource(reference("0.995"), band=Decimal("0.001"))
    with pytest.raises(StablecoinDepegError):
        run(tight.rate("USDC", "usd"))
    with pytest.raises(SluiceValueError):
        StablecoinPriceSource(reference("1"), band=Decimal("1.5"))


def test_unreachable_reference_refuses_the_peg_by_default():
    with pytest.raises(PricingUnavailableError, match="cannot check the USDC/usd peg"):
        run(StablecoinPriceSource(Failing()).rate("USDC", "usd"))


def test_unreachable_reference_may_be_tolerated_when_configured():
    source = StablecoinPriceSource(Failing(), require_reference=False)
    rate = run(source.rate("USDC", "usd"))
    assert (rate.value, rate.source) == (Decimal(1), "peg")


def test_peg_without_reference_must_be_explicit():
    with pytest.raises(SluiceValueError, match="reference"):
        StablecoinPriceSource(None)
    assert run(StablecoinPriceSource(None, require_reference=False).rate("USDT", "usd")).value == 1


@pytest.mark.parametrize(("base", "quote"), [("ETH", "usd"), ("USDC", "eur"), ("EURC", "usd")])
def test_peg_source_does_not_price_other_pairs(base, quote):
    with pytest.raises(UnsupportedPairError):
        run(StablecoinPriceSource(reference("1")).rate(base, quote))


# ----------------------------------------------------------------------------- composite


def test_composite_falls_back_to_the_next_source_when_one_is_down():
    down = Failing()
    backup = FixedPriceSource({("ETH", "usd"): Decimal(3000)})
    rate = run(CompositePriceSource([down, backup]).rate("ETH", "usd"))
    assert rate.value == Decimal(3000)
    assert rate.source == "fixed"
    assert down.calls == 1


def test_composite_skips_sources_that_do_not_price_the_pair():
    peg = StablecoinPriceSource(reference("1"))
    market = FixedPriceSource({("ETH", "usd"): Decimal(3000), ("USDC", "usd"): Decimal("0.999")})
    composite = CompositePriceSource([peg, market])
    assert run(composite.rate("ETH", "usd")).source == "fixed"
    assert run(composite.rate("USDC", "usd")).source == "peg:fixed"


def test_composite_does_not_fall_back_past_a_depeg():
    peg = StablecoinPriceSource(reference("0.90"))
    market = FixedPriceSource({("USDC", "usd"): Decimal("0.90")})
    with pytest.raises(StablecoinDepegError):
        run(CompositePriceSource([peg, market]).rate("USDC", "usd"))


def test_composite_reports_every_failure_and_the_soonest_retry():
    with pytest.raises(PricingUnavailableError, match="down is down; down is down") as info:
        run(CompositePriceSource([Failing(retry_after=30), Failing(retry_after=5)]).rate("ETH", "usd"))
    assert info.value.retry_after == 5


def test_composite_of_sources_that_do_not_price_the_pair_is_unsupported():
    with pytest.raises(UnsupportedPairError):
        run(CompositePriceSource([FixedPriceSource({})]).rate("ETH", "usd"))
    with pytest.raises(SluiceValueError):
        CompositePriceSource([])
