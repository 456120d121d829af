"""Fiat-priced intents and /v1/quotes: locked quotes, rounding for the merchant, expiry, outages."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

import pytest
from sqlalchemy import update

from sluice.clock import utcnow
from sluice.config import Settings
from sluice.errors import PricingUnavailableError
from sluice.models.quote import Quote
from sluice.pricing.base import Rate
from sluice.pricing.factory import build_price_source

from intents_fixtures import auth

pytestmark = pytest.mark.db

ETH_USD = "3000.123456"


@pytest.fixture
def prices():
    return build_price_source(Settings(env="test", fixed_rates={"ETH/usd": Decimal(ETH_USD)}))


def expected_wei(usd: str) -> int:
    return int((Decimal(usd) * 10**18 / Decimal(ETH_USD)).to_integral_value(rounding=ROUND_CEILING))


async def test_fiat_price_is_converted_rounding_up_and_locked(client, merchant):
    body = {"network": "local", "asset": "ETH", "price": {"amount": "25.00", "currency": "usd"}}
    response = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
    assert response.status_code == 200, response.text
    intent = response.json()
    assert intent["amount"] == str(expected_wei("25.00"))
    quote = intent["quote"]
    assert quote["rate"] == ETH_USD and quote["fiat_amount"] == "25.00" and quote["currency"] == "usd"
    assert quote["locked_until"] - quote["created"] == 900
    assert intent["expires_at"] <= quote["locked_until"]


async def test_stablecoin_is_quoted_one_to_one(client, merchant):
    response = await client.get(
        "/v1/quotes",
        params={"network": "local", "asset": "USDC", "amount": "25.00", "currency": "usd"},
        headers=auth(merchant.secret),
    )
    assert response.status_code == 200 and response.json()["amount"] == "25000000"


async def test_quote_then_intent_from_quote(client, merchant):
    quote = (
        await client.get(
            "/v1/quotes",
            params={"network": "local", "asset": "ETH", "amount": "10", "currency": "usd"},
            headers=auth(merchant.secret),
        )
    ).json()
    assert quote["id"].startswith("qt_") and quote["amount"] == str(expected_wei("10"))
    body = {"network": "local", "asset": "ETH", "quote": quote["id"]}
    intent = (await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))).json()
    assert intent["amount"] == quote["amount"] and intent["quote"]["id"] == quote["id"]


async def test_expired_quote_is_rejected(client, merchant, sessions):
    quote = (
        await client.get(
            "/v1/quotes",
            params={"network": "local", "asset": "ETH", "amount": "10", "currency": "usd"},
            headers=auth(merchant.secret),
        )
    ).json()
    async with sessions() as s, s.begin():
        await s.execute(
            update(Quote).where(Quote.id == quote["id"]).values(locked_until=utcnow() - timedelta(seconds=1))
        )
    body = {"network": "local", "asset": "ETH", "quote": quote["id"]}
    response = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
    assert response.status_code == 400 and response.json()["error"]["code"] == "quote_expired"


async def test_another_merchants_quote_is_not_found(client, merchant, other_merchant):
    quote = (
        await client.get(
            "/v1/quotes",
            params={"network": "local", "asset": "ETH", "amount": "10", "currency": "usd"},
            headers=auth(merchant.secret),
        )
    ).json()
    body = {"network": "local", "asset": "ETH", "quote": quote["id"]}
    response = await client.post("/v1/payment_intents", json=body, headers=auth(other_merchant.secret))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("amount", "currency", "status"),
    [("25.001", "usd", 400), ("-1", "usd", 400), ("abc", "usd", 400), ("25", "xyz", 400)],
)
async def test_bad_fiat_amounts_are_rejected(client, merchant, amount, currency, status):
    response = await client.get(
        "/v1/quotes",
        params={"network": "local", "asset": "ETH", "amount": amount, "currency": currency},
        headers=auth(merchant.secret),
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


class DownSource:
    name = "down"

    async def rate(self, base: str, quote: str) -> Rate:
        raise PricingUnavailableError("coingecko: HTTP 503")


class TestOutage:
    @pytest.fixture
    def prices(self):
        return DownSource()

    async def test_source_outage_is_a_clear_503_and_nothing_is_stored(self, client, merchant, sessions):
        body = {"network": "local", "asset": "ETH", "price": {"amount": "25.00", "currency": "usd"}}
        response = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "pricing_unavailable"
        listed = await client.get("/v1/payment_intents", headers=auth(merchant.secret))
        assert listed.json()["data"] == []


async def test_list_and_cancel_responses_carry_the_quote_like_get(client, merchant):
    body = {"network": "local", "asset": "ETH", "price": {"amount": "25.00", "currency": "usd"}}
    created = (await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))).json()
    got = (await client.get(f"/v1/payment_intents/{created['id']}", headers=auth(merchant.secret))).json()
    listed = (await client.get("/v1/payment_intents", headers=auth(merchant.secret))).json()["data"]
    assert got["quote"] is not None and got["quote"] == created["quote"]
    assert [i["quote"] for i in listed if i["id"] == created["id"]] == [got["quote"]]
    canceled = await client.post(f"/v1/payment_intents/{created['id']}/cancel", headers=auth(merchant.secret))
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled" and canceled.json()["quote"] == got["quote"]
