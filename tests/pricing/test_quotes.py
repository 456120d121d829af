"""Fiat -> base-unit quotes: exact, rounded up for the merchant, validated, and locked for a while."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_CEILING, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pricing_fakes import FakeClock, PriceServer, Reply

from sluice.errors import (
    InvalidAmountError,
    InvalidPriceError,
    SluiceValueError,
    UnsupportedCurrencyError,
    UnsupportedPairError,
)
from sluice.pricing import (
    CoinGeckoPriceSource,
    FixedPriceSource,
    Quote,
    Rate,
    make_quote,
    minor_units,
    to_base_units,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ETH_USD = Decimal("3000.123456")


def fixed(**rates: str) -> FixedPriceSource:
    """FixedPriceSource from keyword pairs like ETH_usd="3000"."""
    pairs = {tuple(k.split("_")): Decimal(v) for k, v in rates.items()}
    return FixedPriceSource(pairs, clock=FakeClock(NOW))  # type: ignore[arg-type]


def quote(source: object = None, amount: object = "25.00", currency: str = "usd", **kwargs: object) -> Quote:
    kwargs.setdefault("asset", "ETH")
    kwargs.setdefault("decimals", 18)
    kwargs.setdefault("now", NOW)
    return asyncio.run(
        make_quote(source or fixed(ETH_usd=str(ETH_USD)), amount, currency, **kwargs)  # type: ignore[arg-type]
    )


def ceil_independently(fiat: Decimal, rate: Decimal, decimals: int) -> int:
    """The expected amount, computed another way: Decimal division at 200 digits, rounded up."""
    with localcontext() as ctx:
        ctx.prec = 200
        return int((fiat * Decimal(10) ** decimals / rate).to_integral_value(rounding=ROUND_CEILING))


# ----------------------------------------------------------------------------- conversion and rounding


def test_twenty_five_dollars_of_eth_rounds_up_to_the_next_wei():
    q = quote()
    expected = ceil_independently(Decimal("25.00"), ETH_USD, 18)
    assert q.amount == expected == 8_332_990_414_111_812
    # Rounded up: the payer never pays less than $25.00 at the quoted rate…
    assert Decimal(q.amount) * ETH_USD >= Decimal("25.00") * 10**18
    # …and never a whole wei more than needed.
    assert Decimal(q.amount - 1) * ETH_USD < Decimal("25.00") * 10**18


def test_exact_conversion_is_not_rounded():
    q = quote(fixed(USDC_usd="1"), "25.00", asset="USDC", decimals=6)
    assert q.amount == 25_000_000


def test_usdt_on_bsc_with_18_decimals():
    q = quote(fixed(USDT_usd="1"), "19.99", asset="USDT", decimals=18)
    assert q.amount == 19_990_000_000_000_000_000


def test_cheap_asset_in_zero_decimal_currency():
    q = quote(fixed(DOT_jpy="1000.7"), "1500", "jpy", asset="DOT", decimals=10)
    assert q.amount == ceil_independently(Decimal(1500), Decimal("1000.7"), 10)


@given(
    cents=st.integers(min_value=1, max_value=10**12),
    rate=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**7), places=8),
    decimals=st.integers(min_value=0, max_value=24),
)
def test_amount_is_the_least_that_covers_the_price(cents, rate, decimals):
    fiat = Decimal(cents).scaleb(-2)
    amount = to_base_units(fiat, rate, decimals)
    assert amount == ceil_independently(fiat, rate, decimals)
    with localcontext() as ctx:
        ctx.prec = 200
        assert amount * rate >= fiat * 10**decimals
        assert (amount - 1) * rate < fiat * 10**decimals


# ----------------------------------------------------------------------------- the quote object


def test_quote_records_rate_source_and_lock():
    q = quote()
    assert q.fiat_amount == Decimal("25.00") and str(q.fiat_amount) == "25.00"
    assert (q.currency, q.asset, q.decimals) == ("usd", "ETH", 18)
    assert (q.rate, q.source, q.rate_observed_at) == (ETH_USD, "fixed", NOW)
    assert q.created_at == NOW
    assert q.locked_until == NOW + timedelta(seconds=900)


def test_fiat_amount_is_kept_at_the_currencys_minor_unit():
    assert str(quote(amount="25").fiat_amount) == "25.00"
    assert str(quote(amount=Decimal("25.000")).fiat_amount) == "25.00"
    assert str(quote(amount=7).fiat_amount) == "7.00"


def test_quote_serialises_money_as_decimal_strings():
    data = quote().as_dict()
    assert data["fiat_amount"] == "25.00"
    assert data["rate"] == "3000.123456"
    assert data["amount"] == "8332990414111812"
    assert data["locked_until"] == "2026-06-01T12:15:00+00:00"


def test_quote_expires_at_locked_until():
    q = quote(lock_seconds=600)
    assert not q.is_expired(NOW)
    assert not q.is_expired(NOW + timedelta(seconds=599))
    assert q.is_expired(NOW + timedelta(seconds=600))
    assert q.is_expired(NOW + timedelta(days=1))


def test_expiry_compares_instants_across_time_zones():
    q = quote(lock_seconds=600)
    plus_two = timezone(timedelta(hours=2))
    assert not q.is_expired(datetime(2026, 6, 1, 14, 9, tzinfo=plus_two))
    assert q.is_expired(datetime(2026, 6, 1, 14, 10, tzinfo=plus_two))


def test_quote_without_now_uses_the_current_time():
    q = quote(now=None)
    assert abs(q.created_at - datetime.now(UTC)) < timedelta(seconds=10)
    assert not q.is_expired()


@pytest.mark.parametrize("lock", [0, -1, 1.5, True])
def test_lock_must_be_a_positive_number_of_seconds(lock):
    with pytest.raises(SluiceValueError, match="lock_seconds"):
        quote(lock_seconds=lock)


def test_naive_now_is_refused():
    with pytest.raises(SluiceValueError, match="timezone-aware"):
        quote(now=datetime(2026, 6, 1, 12, 0))


# ----------------------------------------------------------------------------- refused amounts


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("25.001", "usd"), (Decimal("0.005"), "eur"), ("1000.5", "jpy"), ("1.0001", "kwd")],
)
def test_amount_finer_than_the_currency_allows_is_refused(amount, currency):
    with pytest.raises(InvalidAmountError, match="more decimals") as info:
        quote(fixed(ETH_usd="3000", ETH_eur="2800", ETH_jpy="450000", ETH_kwd="900"), amount, currency)
    assert info.value.code == "invalid_amount"
    assert info.value.param == "amount"


def test_amounts_at_the_currencys_precision_are_accepted():
    source = fixed(ETH_jpy="450000", ETH_kwd="900")
    assert quote(source, "1000", "jpy").fiat_amount == Decimal(1000)
    assert str(quote(source, "1.001", "kwd").fiat_amount) == "1.001"


@pytest.mark.parametrize("amount", ["0", "0.00", -1, Decimal("-0.01")])
def test_non_positive_amount_is_refused(amount):
    with pytest.raises(InvalidAmountError, match="positive"):
        quote(amount=amount)


@pytest.mark.parametrize(
    "amount", ["-25.00", "1e3", "1E3", " 1.00", "1.00 ", "+1", "1_000", "1,00", "1.", ".5"]
)
def test_fiat_strings_are_plain_decimals_only(amount):
    # "1e3" must not become a thousand, nor " 1.00" be trimmed silently: digits and an optional point.
    with pytest.raises(InvalidAmountError, match="plain decimal"):
        quote(amount=amount)


@pytest.mark.parametrize("amount", ["NaN", "Infinity", Decimal("-Infinity"), "twenty", "", 25.0, True, None])
def test_non_decimal_amount_is_refused(amount):
    with pytest.raises(InvalidAmountError):
        quote(amount=amount)


@pytest.mark.parametrize("currency", ["xyz", "", "dollars", "US D"])
def test_unknown_currency_is_refused(currency):
    with pytest.raises(UnsupportedCurrencyError) as info:
        quote(currency=currency)
    assert info.value.param == "currency"


def test_currency_code_is_case_insensitive():
    assert quote(currency="USD").currency == "usd"
    assert minor_units("JPY") == 0


@pytest.mark.parametrize("decimals", [-1, 78, True, "18"])
def test_asset_decimals_are_validated(decimals):
    with pytest.raises(SluiceValueError, match="decimals"):
        quote(decimals=decimals)


def test_asset_without_a_price_is_unsupported():
    with pytest.raises(UnsupportedPairError):
        quote(asset="BNB")


def test_rate_for_another_pair_is_refused():
    class Confused:
        async def rate(self, base: str, quote: str) -> Rate:
            return Rate("BTC", quote, Decimal(60000), "confused", NOW)

    with pytest.raises(InvalidPriceError, match="asked for ETH/usd"):
        quote(Confused())


def test_quote_priced_by_coingecko_over_http(price_server: PriceServer, clock: FakeClock):
    updated = int(clock.now.timestamp())
    price_server.script(Reply(body=f'{{"ethereum": {{"usd": 3000.123456, "last_updated_at": {updated}}}}}'))

    async def main() -> Quote:
        async with CoinGeckoPriceSource(base_url=price_server.url, clock=clock) as source:
            return await make_quote(source, Decimal("25.00"), "usd", "ETH", 18, now=clock.now)

    q = asyncio.run(main())
    assert q.amount == 8_332_990_414_111_812
    assert (q.rate, q.source) == (ETH_USD, "coingecko")
