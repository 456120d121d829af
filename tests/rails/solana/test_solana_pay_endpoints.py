"""The Solana Pay transaction-request endpoints of the checkout (/pay/{id}/solana-pay?secret=…) answer
as the specification says: GET → {label, icon}; POST {account} → {transaction, message}, the
transaction for that account as fee payer, signable as is; JSON, CORS for web wallets, errors as a
4xx with a `message`. And the checkout page of a Solana intent carries the QR link and the Wallet
Standard chain."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from solders.keypair import Keypair

sys.path.insert(0, str(Path(__file__).parents[2] / "api"))

from test_solana_api_e2e import make_solana_merchant

from api.app import create_app
from sluice.config import Settings, to_asyncpg_url
from sluice.pricing.factory import build_price_source
from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.transaction import decode_transaction

from intents_fixtures import auth, make_settings
from solana_fixtures import usdc_balance

pytestmark = pytest.mark.db


@pytest.fixture
async def client(
    db_url: str, rpc_url: str, keys: dict[str, Keypair], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    monkeypatch.setenv("SLUICE_RPC_URL_SOLANA_LOCAL", rpc_url)
    settings = make_settings(
        db_url,
        platform_fee_bps=100,
        platform_fee_recipient_solana=str(keys["platform"].pubkey()),
        checkout_base_url="http://127.0.0.1/pay",
    )
    app = create_app(settings, database_url=to_asyncpg_url(db_url))
    secret = await make_solana_merchant(db_url, Keypair().pubkey())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            yield http, secret


async def solana_intent(http: httpx.AsyncClient, secret: str) -> tuple[dict, str]:
    created = await http.post(
        "/v1/payment_intents",
        json={"network": "solana-local", "asset": "USDC", "amount": "3000000", "description": "Two coffees"},
        headers=auth(secret),
    )
    assert created.status_code == 200, created.text
    intent = created.json()
    return intent, f"/pay/{intent['id']}/solana-pay?secret={intent['client_secret']}"


async def test_get_answers_label_and_icon_as_json_with_cors(client: tuple[httpx.AsyncClient, str]) -> None:
    http, secret = client
    _, url = await solana_intent(http, secret)
    answer = await http.get(url, headers={"Accept": "application/json"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["access-control-allow-origin"] == "*"
    body = answer.json()
    assert body["label"] == "Solana shop"
    assert body["icon"].startswith("http://127.0.0.1/") and body["icon"].endswith(".svg")
    icon = await http.get(body["icon"])
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")

    preflight = await http.options(
        url, headers={"Origin": "https://wallet.example", "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]


async def test_post_account_answers_a_transaction_the_wallet_signs_as_is(
    client: tuple[httpx.AsyncClient, str], rpc_url: str, cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    http, secret = client
    _, url = await solana_intent(http, secret)
    payer = keys["payer"]
    answer = await http.post(url, json={"account": str(payer.pubkey())})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["access-control-allow-origin"] == "*"
    body = answer.json()
    assert set(body) == {"transaction", "message"} and body["message"] == "Two coffees"

    tx = decode_transaction(body["transaction"])
    assert tx.message.account_keys[0] == payer.pubkey()  # the account is the fee payer
    tx.partial_sign([payer], tx.message.recent_blockhash)
    rpc = SolanaRpc(rpc_url)
    try:
        await rpc.send_transaction(tx)
    finally:
        await rpc.aclose()
    assert usdc_balance(cluster, keys["platform"].pubkey()) == 30_000  # 1 % of 3 USDC


async def test_errors_are_4xx_with_a_message(client: tuple[httpx.AsyncClient, str]) -> None:
    http, secret = client
    intent, url = await solana_intent(http, secret)
    for body in ({}, {"account": "not-base58"}, {"account": "0x" + "11" * 20}):
        answer = await http.post(url, json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["param"] == "account" and answer.json()["message"]
        assert answer.headers["access-control-allow-origin"] == "*"
    bad = await http.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "account"
    wrong = await http.get(url.replace(intent["client_secret"], "pi_secret_wrong"))
    assert wrong.status_code == 404 and wrong.json()["message"]
    await http.post(f"/v1/payment_intents/{intent['id']}/cancel", headers=auth(secret))
    closed = await http.post(url, json={"account": str(Keypair().pubkey())})
    assert closed.status_code == 400 and closed.json()["error"]["code"] == "payment_intent_unexpected_state"


async def test_checkout_page_of_a_solana_intent_carries_the_solana_pay_link(
    client: tuple[httpx.AsyncClient, str],
) -> None:
    http, secret = client
    intent, url = await solana_intent(http, secret)
    page = await http.get(intent["checkout_url"].removeprefix("http://127.0.0.1"))
    assert page.status_code == 200
    data = json.loads(re.search(r'id="checkout-data">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    assert data["family"] == "solana" and data["solana"]["chain"] == "solana:localnet"
    link = data["solana"]["transaction_request"]
    assert link.startswith("solana:http%3A%2F%2F127.0.0.1%2Fpay%2F")
    assert unquote(link.removeprefix("solana:")) == "http://127.0.0.1" + url
    assert (
        data["solana"]["transfer_request"] is None
    )  # the platform fee is a split: a transaction request only
    assert 'id="solana-pay-qr"' in page.text and "(chain 0)" not in page.text


async def test_a_fiat_priced_sol_intent_is_quoted_in_lamports(
    db_url: str, rpc_url: str, keys: dict[str, Keypair], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLUICE_RPC_URL_SOLANA_LOCAL", rpc_url)
    settings = make_settings(db_url, platform_fee_recipient_solana=str(keys["platform"].pubkey()))
    prices = build_price_source(Settings(env="test", fixed_rates={"SOL/usd": Decimal("150")}))
    app = create_app(settings, database_url=to_asyncpg_url(db_url), prices=prices)
    secret = await make_solana_merchant(db_url, Keypair().pubkey())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            created = await http.post(
                "/v1/payment_intents",
                json={
                    "network": "solana-local",
                    "asset": "SOL",
                    "price": {"amount": "30.00", "currency": "usd"},
                },
                headers=auth(secret),
            )
    assert created.status_code == 200, created.text
    assert created.json()["amount"] == "200000000"  # 30 / 150 SOL = 0.2 SOL in lamports
