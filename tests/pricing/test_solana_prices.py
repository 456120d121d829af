"""Solana's assets in the price sources: SOL through CoinGecko's `solana` id, USDC (the same symbol
on Solana as on EVM) quoted 1:1 only while CoinGecko places it near its peg."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from pricing_fakes import FakeClock, PriceServer, Reply

from sluice.config import Settings
from sluice.errors import StablecoinDepegError
from sluice.pricing.factory import build_price_source


def price(clock: FakeClock, coin: str, usd: str) -> str:
    return f'{{"{coin}": {{"usd": {usd}, "last_updated_at": {int(clock.now.timestamp())}}}}}'


def source(price_server: PriceServer):  # type: ignore[no-untyped-def]
    return build_price_source(Settings(env="test", price_source="coingecko", coingecko_url=price_server.url))


def test_sol_is_priced_by_coingecko_id_solana(price_server: PriceServer, clock: FakeClock) -> None:
    price_server.script(Reply(body=price(clock, "solana", "187.123456789")))
    rate = asyncio.run(source(price_server).rate("SOL", "usd"))
    assert rate.value == Decimal("187.123456789") and rate.source == "coingecko"
    assert price_server.requests[0].query["ids"] == "solana"


def test_usdc_is_one_dollar_only_near_its_peg(price_server: PriceServer, clock: FakeClock) -> None:
    price_server.script(Reply(body=price(clock, "usd-coin", "0.9995")))
    assert asyncio.run(source(price_server).rate("USDC", "usd")).value == Decimal(1)

    price_server.script(Reply(body=price(clock, "usd-coin", "0.93")))
    with pytest.raises(StablecoinDepegError):
        asyncio.run(source(price_server).rate("USDC", "usd"))
