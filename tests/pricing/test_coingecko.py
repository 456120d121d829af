"""CoinGecko client against a real HTTP server on 127.0.0.1 that answers like /simple/price."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import TypeVar

import pytest
from pricing_fakes import FakeClock, PriceServer, Reply

from sluice.errors import (
    InvalidPriceError,
    PricingUnavailableError,
    SluiceValueError,
    StalePriceError,
    UnsupportedPairError,
)
from sluice.pricing import CoinGeckoPriceSource, Rate
from sluice.pricing.coingecko import parse_json

T = TypeVar("T")


def run(make: Callable[[CoinGeckoPriceSource], Awaitable[T]], source: CoinGeckoPriceSource) -> T:
    """Runs `make(source)` in a fresh event loop and closes the source's HTTP client afterwards."""

    async def main() -> T:
        async with source:
            return await make(source)

    return asyncio.run(main())


def simple_price(clock: FakeClock, coin: str, **prices: str) -> str:
    """The shape CoinGecko answers with, prices written as raw JSON numbers (as CoinGecko does)."""
    fields = "".join(f'"{currency}": {price}, ' for currency, price in prices.items())
    return f'{{"{coin}": {{{fields}"last_updated_at": {int(clock.now.timestamp())}}}}}'


def eth_usd(clock: FakeClock, price: str = "3000.123456789012345678") -> str:
    return simple_price(clock, "ethereum", usd=price)


@pytest.fixture
def source(price_server: PriceServer, clock: FakeClock) -> CoinGeckoPriceSource:
    return CoinGeckoPriceSource(base_url=price_server.url, clock=clock, timeout=0.5)


def test_rate_is_the_exact_decimal_coingecko_sent(source, price_server, clock):
    price_server.script(Reply(body=eth_usd(clock)))
    rate = run(lambda s: s.rate("eth", "USD"), source)
    assert isinstance(rate, Rate)
    assert isinstance(rate.value, Decimal)
    # 22 significant digits: a float would have kept about 16.
    assert rate.value == Decimal("3000.123456789012345678")
    assert (rate.base, rate.quote, rate.source) == ("ETH", "usd", "coingecko")
    assert rate.observed_at == clock.now


def test_integer_and_exponent_prices_parse_as_decimal(source, price_server, clock):
    price_server.script(Reply(body=simple_price(clock, "usd-coin", usd="1", eur="9.2e-1")))
    rates = run(lambda s: s.rates(["USDC"], ["usd", "eur"]), source)
    assert rates[("USDC", "usd")].value == Decimal(1)
    assert rates[("USDC", "eur")].value == Decimal("0.92")
    assert all(isinstance(r.value, Decimal) for r in rates.values())
    assert len(price_server.requests) == 1, "both currencies come from one request"


def test_request_names_coin_ids_currencies_and_asks_for_update_time(source, price_server, clock):
    price_server.script(Reply(body=eth_usd(clock)))
    run(lambda s: s.rate("ETH", "usd"), source)
    (seen,) = price_server.requests
    assert seen.path == "/api/v3/simple/price"
    assert seen.query["ids"] == "ethereum"
    assert seen.query["vs_currencies"] == "usd"
    assert seen.query["include_last_updated_at"] == "true"
    assert "x-cg-demo-api-key" not in seen.headers


@pytest.mark.parametrize(("plan", "header"), [("demo", "x-cg-demo-api-key"), ("pro", "x-cg-pro-api-key")])
def test_api_key_is_sent_in_the_plans_header(price_server, clock, plan, header):
    price_server.script(Reply(body=eth_usd(clock)))
    source = CoinGeckoPriceSource(base_url=price_server.url, api_key="CG-secret", plan=plan, clock=clock)
    run(lambda s: s.rate("ETH", "usd"), source)
    assert price_server.requests[0].headers[header] == "CG-secret"


def test_matic_and_pol_both_map_to_the_polygon_ecosystem_token(source, price_server, clock):
    price_server.script(Reply(body=simple_price(clock, "polygon-ecosystem-token", usd="0.2345")))
    rates = run(lambda s: s.rates(["MATIC", "POL"], ["usd"]), source)
    assert rates[("MATIC", "usd")].value == rates[("POL", "usd")].value == Decimal("0.2345")
    assert price_server.requests[0].query["ids"] == "polygon-ecosystem-token"


def test_stacks_assets_use_the_blockstack_and_bitcoin_ids(source, price_server, clock):
    """STX is CoinGecko's `blockstack`; sBTC is priced as BTC (`bitcoin`), to which it is pegged 1:1."""
    price_server.script(
        Reply(body=simple_price(clock, "blockstack", usd="0.61")),
        Reply(body=simple_price(clock, "bitcoin", usd="97000.5")),
    )
    assert run(lambda s: s.rate("STX", "usd"), source).value == Decimal("0.61")
    assert price_server.requests[0].query["ids"] == "blockstack"
    assert run(lambda s: s.rate("sBTC", "usd"), source).value == Decimal("97000.5")
    assert price_server.requests[1].query["ids"] == "bitcoin"


def test_second_call_within_ttl_is_served_from_cache(source, price_server, clock):
    price_server.script(Reply(body=eth_usd(clock, "3000")), Reply(body=eth_usd(clock, "3100")))

    async def twice(s: CoinGeckoPriceSource) -> tuple[Rate, Rate]:
        first = await s.rate("ETH", "usd")
        clock.advance(59)
        return first, await s.rate("ETH", "usd")

    first, second = run(twice, source)
    assert first == second
    assert len(price_server.requests) == 1


def test_expired_cache_entry_is_fetched_again(source, price_server, clock):
    price_server.script(Reply(body=eth_usd(clock, "3000")))

    async def across_ttl(s: CoinGeckoPriceSource) -> Rate:
        await s.rate("ETH", "usd")
        clock.advance(61)
        price_server.script(Reply(body=eth_usd(clock, "3100")))
        return await s.rate("ETH", "usd")

    assert run(across_ttl, source).value == Decimal(3100)
    assert len(price_server.requests) == 2


def test_rate_limit_without_cache_raises_with_retry_after(source, price_server):
    price_server.script(
        Reply.json({"status": {"error_code": 429}}, status=429, headers={"Retry-After": "30"})
    )
    with pytest.raises(PricingUnavailableError, match="429") as info:
        run(lambda s: s.rate("ETH", "usd"), source)
    assert info.value.retry_after == 30
    assert info.value.code == "pricing_unavailable"


def test_rate_limit_is_honoured_before_asking_again(source, price_server, clock):
    price_server.script(Reply(status=429, headers={"Retry-After": "30"}), Reply(body=eth_usd(clock)))

    async def scenario(s: CoinGeckoPriceSource) -> Rate:
        with pytest.raises(PricingUnavailableError):
            await s.rate("ETH", "usd")
        clock.advance(29)
        with pytest.raises(PricingUnavailableError, match="not asking again"):
            await s.rate("ETH", "usd")
        assert len(price_server.requests) == 1, "no request inside the Retry-After window"
        clock.advance(1)
        return await s.rate("ETH", "usd")

    assert run(scenario, source).value == Decimal("3000.123456789012345678")
    assert len(price_server.requests) == 2


def test_retry_after_as_http_date_is_understood(source, price_server, clock):
    when = clock.now + timedelta(seconds=120)
    price_server.script(Reply(status=429, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    with pytest.raises(PricingUnavailableError) as info:
        run(lambda s: s.rate("ETH", "usd"), source)
    assert info.value.retry_after == 120


def test_rate_limit_serves_cached_price_younger_than_max_stale(price_server, clock):
    source = CoinGeckoPriceSource(base_url=price_server.url, clock=clock, max_stale=timedelta(minutes=10))
    price_server.script(Reply(body=eth_usd(clock, "3000")), Reply(status=429, headers={"Retry-After": "60"}))

    async def scenario(s: CoinGeckoPriceSource) -> tuple[Rate, Rate]:
        fresh = await s.rate("ETH", "usd")
        clock.advance(5 * 60)
        return fresh, await s.rate("ETH", "usd")

    fresh, stale = run(scenario, source)
    assert stale == fresh
    assert stale.observed_at == clock.now - timedelta(minutes=5), "the caller can see how old it is"
    assert len(price_server.requests) == 2


def test_rate_limit_refuses_cached_price_older_than_max_stale(price_server, clock):
    source = CoinGeckoPriceSource(base_url=price_server.url, clock=clock, max_stale=timedelta(minutes=10))
    price_server.script(Reply(body=eth_usd(clock, "3000")), Reply(status=429, headers={"Retry-After": "60"}))

    async def scenario(s: CoinGeckoPriceSource) -> None:
        await s.rate("ETH", "usd")
        clock.advance(10 * 60 + 1)
        await s.rate("ETH", "usd")

    with pytest.raises(PricingUnavailableError, match="younger than 600 s"):
        run(scenario, source)


def test_server_error_raises_pricing_unavailable(source, price_server):
    price_server.script(Reply(status=500, body="internal error"))
    with pytest.raises(PricingUnavailableError, match="HTTP 500"):
        run(lambda s: s.rate("ETH", "usd"), source)


def test_outage_backs_off_briefly_then_asks_again(source, price_server, clock):
    price_server.script(Reply(status=502, body="bad gateway"), Reply(body=eth_usd(clock)))

    async def scenario(s: CoinGeckoPriceSource) -> Rate:
        with pytest.raises(PricingUnavailableError):
            await s.rate("ETH", "usd")
        with pytest.raises(PricingUnavailableError):
            await s.rate("ETH", "usd")
        assert len(price_server.requests) == 1
        clock.advance(5)
        return await s.rate("ETH", "usd")

    assert isinstance(run(scenario, source).value, Decimal)


def test_slow_response_times_out(source, price_server, clock):
    # The reply comes after 6 s; the source gives up at 0.5 s. The bound leaves room for a loaded
    # machine (a CI run beside other work took 2.7 s) and still proves it never waited for the reply.
    price_server.script(Reply(body=eth_usd(clock), delay=6.0))
    started = time.monotonic()
    with pytest.raises(PricingUnavailableError, match=r"did not answer within 0\.5 s"):
        run(lambda s: s.rate("ETH", "usd"), source)
    assert time.monotonic() - started < 5.0


def test_unreachable_server_raises_pricing_unavailable(price_server, clock):
    url = price_server.url
    price_server.stop()
    source = CoinGeckoPriceSource(base_url=url, clock=clock, timeout=0.5)
    with pytest.raises(PricingUnavailableError, match="unreachable"):
        run(lambda s: s.rate("ETH", "usd"), source)


@pytest.mark.parametrize(
    "body",
    [
        "<html>Cloudflare</html>",
        '{"ethereum": {"usd": 3000.1',
        '{"ethereum": {"usd": NaN}}',
        '{"ethereum": {"usd": Infinity}}',
    ],
    ids=["html", "truncated", "nan", "infinity"],
)
def test_malformed_json_raises_pricing_unavailable(source, price_server, body):
    price_server.script(Reply(body=body))
    with pytest.raises(PricingUnavailableError, match="malformed JSON"):
        run(lambda s: s.rate("ETH", "usd"), source)


@pytest.mark.parametrize(
    "body",
    [
        "{}",
        '{"ethereum": {}}',
        '{"ethereum": {"usd": "3000.12"}}',
        '{"ethereum": {"usd": null}}',
        '{"ethereum": {"usd": true}}',
        '{"ethereum": {"usd": 0}}',
        '{"ethereum": {"usd": -3000.5}}',
        "[1, 2]",
    ],
    ids=["empty", "no-currency", "string", "null", "bool", "zero", "negative", "list"],
)
def test_missing_or_non_positive_price_is_rejected(source, price_server, body):
    price_server.script(Reply(body=body))
    with pytest.raises(InvalidPriceError):
        run(lambda s: s.rate("ETH", "usd"), source)


def test_price_not_updated_within_max_stale_is_rejected(price_server, clock):
    source = CoinGeckoPriceSource(base_url=price_server.url, clock=clock, max_stale=timedelta(minutes=10))
    old = int(clock.now.timestamp()) - 11 * 60
    price_server.script(Reply(body=f'{{"ethereum": {{"usd": 3000, "last_updated_at": {old}}}}}'))
    with pytest.raises(StalePriceError):
        run(lambda s: s.rate("ETH", "usd"), source)


def test_unknown_symbol_is_unsupported_without_a_request(source, price_server):
    with pytest.raises(UnsupportedPairError, match="no coin id configured for 'DOGE'"):
        run(lambda s: s.rate("DOGE", "usd"), source)
    assert price_server.requests == []


def test_coin_ids_can_be_configured(price_server, clock):
    price_server.script(Reply(body=simple_price(clock, "dogecoin", usd="0.1")))
    source = CoinGeckoPriceSource(base_url=price_server.url, clock=clock, coin_ids={"doge": "dogecoin"})
    assert run(lambda s: s.rate("DOGE", "usd"), source).value == Decimal("0.1")


def test_default_coin_ids_cover_the_supported_chains():
    ids = CoinGeckoPriceSource().coin_ids
    assert ids["ETH"] == "ethereum"
    assert ids["BNB"] == "binancecoin"
    assert ids["MATIC"] == ids["POL"] == "polygon-ecosystem-token"
    assert ids["USDC"] == "usd-coin"
    assert ids["USDT"] == "tether"
    assert ids["STX"] == "blockstack"
    assert ids["TAO"] == "bittensor"
    assert {"BTC", "SOL", "ALGO", "SUI", "DOT"} <= set(ids)


def test_ttl_longer_than_max_stale_is_refused():
    with pytest.raises(SluiceValueError):
        CoinGeckoPriceSource(ttl=timedelta(minutes=5), max_stale=timedelta(minutes=1))


def test_json_parser_never_yields_floats():
    data = parse_json('{"a": 1.5, "b": [2e3, 3], "c": {"d": 0.1}}')
    assert data == {"a": Decimal("1.5"), "b": [Decimal("2E+3"), 3], "c": {"d": Decimal("0.1")}}
    assert type(data["c"]["d"]) is Decimal
