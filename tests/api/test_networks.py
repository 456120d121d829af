import pytest

from intents_fixtures import PAYMENTS, auth

pytestmark = pytest.mark.db


async def test_test_key_sees_test_networks_with_assets_and_contracts(client, merchant):
    response = await client.get("/v1/networks", headers=auth(merchant.publishable))
    assert response.status_code == 200
    networks = {n["name"]: n for n in response.json()["data"]}
    assert set(networks) == {"local", "sepolia"}
    local = networks["local"]
    assert local["chain_id"] == 31337 and local["livemode"] is False
    assert local["contracts"]["payments"].lower() == PAYMENTS
    usdc = next(a for a in local["assets"] if a["symbol"] == "USDC")
    assert usdc["decimals"] == 6 and usdc["stablecoin"] is True


async def test_live_key_sees_mainnets_with_their_decimals(client, merchant):
    networks = {
        n["name"]: n
        for n in (await client.get("/v1/networks", headers=auth(merchant.live_secret))).json()["data"]
    }
    assert set(networks) == {"ethereum"}
    assets = {a["symbol"]: a for a in networks["ethereum"]["assets"]}
    assert assets["USDC"]["decimals"] == 6 and assets["ETH"]["native"] is True


async def test_networks_need_a_key(client):
    assert (await client.get("/v1/networks")).status_code == 401
