"""The Stacks rail through the product, on the local chain (clarinet-sdk's simnet behind the Stacks
API endpoints): an intent created over the API on `stacks-local` is signed per SIP-018 by the
operator key; `/transactions` for an ST… payer returns the wallet request and the unsigned
transaction; a dev key signs exactly that and posts it to the local server; the Stacks follower of
the indexer stores the contract's `paid` event, the intent reaches `succeeded` with the merchant's
and the split's parts to the base unit, and the merchant's endpoint gets a verified webhook. Then:
a step computed but not committed (the database fails mid-commit) leaves nothing behind, and the
restarted follower stores everything exactly once."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from stacks_helpers import DEPLOYER, FEE_RECIPIENT, MERCHANT, PAYER, needs_node
from standardwebhooks import Webhook

sys.path.insert(0, str(Path(__file__).parents[2] / "api"))
sys.path.insert(0, str(Path(__file__).parents[2] / "api" / "webhooks"))

from webhooks_support import TEST_SECRET_KEY, Receiver

import indexer.stacks as stacks_indexer
from api.app import create_app
from indexer.leader import Leadership
from indexer.stacks import StacksFollower, StacksFollowerConfig
from sluice.chain.registry import Registry
from sluice.config import to_asyncpg_url
from sluice.db.pool import make_driver_pool
from sluice.db.session import make_engine, make_sessionmaker
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode
from sluice.rails.registry import Rails
from sluice.rails.stacks.api import StacksApi
from sluice.rails.stacks.devnode import DEV_WALLET_1_KEY, setup_stacks_local, simnet_api
from sluice.rails.stacks.rail import StacksRail
from sluice.rails.stacks.transactions import sign_serialized
from sluice.webhooks.worker import WebhookWorker

from intents_fixtures import OPERATOR_KEY, auth, make_settings

pytestmark = [pytest.mark.db, pytest.mark.e2e, needs_node]

NETWORK = "stacks-local"
CONTRACT = f"{DEPLOYER}.sluice-payments"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The local chain's URL and a deployments directory with sluice-payments deployed on it, the
    operator key the API signs with registered."""
    deployments = tmp_path_factory.mktemp("deployments")
    with simnet_api() as url:
        # What `sluice dev` does: deploy (test sBTC included) and give the dev payer test sBTC.
        operator = bytes.fromhex(OPERATOR_KEY.removeprefix("0x"))
        asyncio.run(setup_stacks_local(url, operator, deployments))
        yield url, deployments


async def make_stacks_merchant(db_url: str) -> str:
    """A merchant paid out on Stacks, and its test secret key."""
    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            merchant = await merchant_service.create(
                session,
                "Stacks shop",
                payout_addresses={"stacks": MERCHANT},
                rails=Rails([StacksRail({})]),  # the rail whose rule checks Stacks addresses
            )
            key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
    finally:
        await engine.dispose()
    return key.secret


async def _balance(api: StacksApi, principal: str) -> int:
    data = await api._json(f"/v2/accounts/{principal}?proof=0")
    return int(data["balance"], 16)


def _follower(db_pool: asyncpg.Pool, api: StacksApi, db_url: str) -> StacksFollower:
    config = StacksFollowerConfig(NETWORK, CONTRACT, 1, 0.05, "http://127.0.0.1")
    return StacksFollower(config, api, StacksRail({NETWORK: CONTRACT}), db_pool, Leadership(db_url, NETWORK))


async def _pay(
    client: httpx.AsyncClient, secret: str, api: StacksApi, amount: str
) -> tuple[dict[str, Any], str]:
    """Creates an STX intent with a 1.5 % split, asks for the payer's transaction, signs it as the
    wallet would, posts it; (the intent, the transaction id)."""
    created = await client.post(
        "/v1/payment_intents",
        json={
            "network": NETWORK,
            "asset": "STX",
            "amount": amount,
            "splits": [{"recipient": FEE_RECIPIENT, "bps": 150}],
        },
        headers=auth(secret),
    )
    assert created.status_code == 200, created.text
    intent = created.json()
    answer = await client.post(
        f"/v1/payment_intents/{intent['id']}/transactions", json={"payer": PAYER}, headers=auth(secret)
    )
    assert answer.status_code == 200, answer.text
    [call] = answer.json()["transactions"]
    signed = sign_serialized(bytes.fromhex(call["unsigned_transaction"]), DEV_WALLET_1_KEY)
    tx_id = await api.broadcast(signed)
    await api.wait_for(tx_id)
    return intent, tx_id


async def test_stx_intent_paid_through_the_api_transaction_succeeds_with_a_verified_webhook(
    db_url: str, chain: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, deployments = chain
    monkeypatch.setenv("SLUICE_STACKS_API_URL_LOCAL", url)
    # The platform fee on Stacks goes to the platform's Stacks address (the EVM one is make_settings').
    settings = make_settings(
        db_url,
        platform_fee_bps=150,
        platform_fee_recipient_stacks=FEE_RECIPIENT,
        webhook_allow_private=True,
        webhook_secret_key=TEST_SECRET_KEY,
    )
    registry = Registry.load(deployments=deployments, environ={})
    assert registry.network(NETWORK).contracts.payments == CONTRACT
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=registry)
    receiver = Receiver()
    await receiver.start()
    pool = await make_driver_pool(to_asyncpg_url(db_url), size=2)
    api = StacksApi(url)
    async with app.router.lifespan_context(app):
        secret = await make_stacks_merchant(db_url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            networks = (await client.get("/v1/networks", headers=auth(secret))).json()["data"]
            local = next(n for n in networks if n["name"] == NETWORK)
            assert (local["family"], local["rails"], local["contracts"]["payments"]) == (
                "stacks",
                ["stacks-contract"],
                CONTRACT,
            )
            assert {a["symbol"]: a["decimals"] for a in local["assets"]} == {"STX": 6, "sBTC": 8}

            hook = await client.post(
                "/v1/webhook_endpoints",
                json={"url": receiver.url, "enabled_events": ["payment_intent.succeeded"]},
                headers=auth(secret),
            )
            assert hook.status_code == 200, hook.text

            # Refusals a merchant or payer can cause are 400s with codes.
            for body, code in (
                ({"amount": "5", "capture_method": "manual"}, "capture_method_unsupported"),
                ({"amount": "5", "splits": [{"recipient": "0x" + "11" * 20, "bps": 10}]}, "invalid_address"),
                (
                    {
                        "amount": "5",
                        "payer": "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE",
                    },  # a mainnet address
                    "invalid_address",
                ),
            ):
                refused = await client.post(
                    "/v1/payment_intents",
                    json={"network": NETWORK, "asset": "STX", **body},
                    headers=auth(secret),
                )
                assert refused.status_code == 400, refused.text
                assert refused.json()["error"]["code"] == code

            created = await client.post(
                "/v1/payment_intents",
                json={"network": NETWORK, "asset": "STX", "amount": "2000003"},
                headers=auth(secret),
            )
            assert created.status_code == 200, created.text
            intent = created.json()
            assert (intent["rail"], intent["decimals"], intent["status"]) == (
                "stacks-contract",
                6,
                "requires_payment",
            )
            for payer in ("0x" + "11" * 20, "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE"):
                bad = await client.post(
                    f"/v1/payment_intents/{intent['id']}/transactions",
                    json={"payer": payer},
                    headers=auth(secret),
                )
                assert bad.status_code == 400 and bad.json()["error"]["param"] == "payer", bad.text
            answer = await client.post(
                f"/v1/payment_intents/{intent['id']}/transactions",
                json={"payer": PAYER},
                headers=auth(secret),
            )
            assert answer.status_code == 200, answer.text
            steps = answer.json()
            assert (steps["rail"], steps["method"], steps["payer"]) == ("stacks-contract", None, PAYER)
            [call] = steps["transactions"]
            request = call["wallet_request"]
            assert request["method"] == "stx_callContract"
            assert (request["params"]["contract"], request["params"]["functionName"]) == (CONTRACT, "pay")
            assert request["params"]["postConditionMode"] == "deny"
            assert request["params"]["postConditions"] == [
                {"type": "stx-postcondition", "address": PAYER, "condition": "eq", "amount": "2000003"}
            ]
            assert call["unsigned_transaction"] and call["nonce"] >= 0

            # The wallet signs exactly what it was given and posts it to the chain.
            merchant_before = await _balance(api, MERCHANT)
            fee_before = await _balance(api, FEE_RECIPIENT)
            signed = sign_serialized(bytes.fromhex(call["unsigned_transaction"]), DEV_WALLET_1_KEY)
            tx_id = await api.broadcast(signed)
            await api.wait_for(tx_id)
            assert await _balance(api, MERCHANT) - merchant_before == 2_000_003 - 30_000
            assert await _balance(api, FEE_RECIPIENT) - fee_before == 30_000

            # The indexer's Stacks follower: one step stores the entry and moves the intent.
            follower = _follower(pool, api, db_url)
            step = await follower.step()
            assert step.entries >= 1
            again = await follower.step()
            assert again.entries == 0
            async with pool.acquire() as conn:
                rows = await conn.fetch(
                    "SELECT kind, rail, amount::text, merchant_amount::text, fee_amounts, tx_id "
                    "FROM ledger_entries WHERE payment_intent_id = $1",
                    intent["id"],
                )
                cursor = await conn.fetchval("SELECT cursor FROM indexer_state WHERE network = $1", NETWORK)
            assert [(r["kind"], r["rail"], r["amount"], r["merchant_amount"], r["tx_id"]) for r in rows] == [
                ("received", "stacks-contract", "2000003", "1970003", tx_id)
            ]
            assert '"amount": "30000"' in rows[0]["fee_amounts"] and FEE_RECIPIENT in rows[0]["fee_amounts"]
            assert cursor == tx_id

            paid = (await client.get(f"/v1/payment_intents/{intent['id']}", headers=auth(secret))).json()
            assert (paid["status"], paid["amount_received"]) == ("succeeded", "2000003")

        # The webhook worker delivers `payment_intent.succeeded`, signed per Standard Webhooks.
        worker = WebhookWorker(app.state.sessions, settings, jitter=lambda: 0.0)
        try:
            assert await worker.fan_out_once() >= 1
            assert await worker.deliver_due_once() == 1
        finally:
            await worker.aclose()
        [delivery] = receiver.received
        payload = Webhook(hook.json()["secret"]).verify(delivery.body, delivery.headers)
        assert payload["type"] == "payment_intent.succeeded"
        assert (payload["data"]["object"]["id"], payload["data"]["object"]["amount_received"]) == (
            intent["id"],
            "2000003",
        )
    await api.aclose()
    await pool.close()
    await receiver.stop()


async def test_a_step_that_fails_mid_commit_leaves_nothing_and_the_restart_stores_it_once(
    db_url: str, chain: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, deployments = chain
    monkeypatch.setenv("SLUICE_STACKS_API_URL_LOCAL", url)
    settings = make_settings(db_url, platform_fee_bps=0)
    app = create_app(
        settings,
        database_url=to_asyncpg_url(db_url),
        registry=Registry.load(deployments=deployments, environ={}),
    )
    pool = await make_driver_pool(to_asyncpg_url(db_url), size=2)
    api = StacksApi(url)
    async with app.router.lifespan_context(app):
        secret = await make_stacks_merchant(db_url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            intent, tx_id = await _pay(client, secret, api, "777")

            # The step's entries and transitions are written, then the commit fails (as a crash would
            # end it): the transaction rolls back, checkpoint and cursor included.
            real_index_batch = stacks_indexer.index_batch

            async def crash_after_writing(*args: Any, **kwargs: Any) -> Any:
                await real_index_batch(*args, **kwargs)
                raise asyncpg.InterfaceError("connection lost mid-commit")

            monkeypatch.setattr(stacks_indexer, "index_batch", crash_after_writing)
            crashed = _follower(pool, api, db_url)
            with pytest.raises(asyncpg.InterfaceError):
                await crashed.step()
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM ledger_entries") == 0
                assert (
                    await conn.fetchval("SELECT cursor FROM indexer_state WHERE network = $1", NETWORK)
                    is None
                )
                assert await conn.fetchval(
                    "SELECT status FROM payment_intents WHERE id = $1", intent["id"]
                ) == ("requires_payment")

            # A new process starts from what was committed and stores everything once.
            monkeypatch.setattr(stacks_indexer, "index_batch", real_index_batch)
            restarted = _follower(pool, api, db_url)
            await restarted.step()
            await restarted.step()
            second = _follower(pool, api, db_url)  # and another restart finds nothing new
            assert (await second.step()).entries == 0
            async with pool.acquire() as conn:
                stored = await conn.fetch(
                    "SELECT tx_id, amount::text FROM ledger_entries WHERE payment_intent_id = $1",
                    intent["id"],
                )
                events = await conn.fetch(
                    "SELECT type FROM events WHERE object_id = $1 ORDER BY seq", intent["id"]
                )
            assert [tuple(r) for r in stored] == [(tx_id, "777")]
            assert [r["type"] for r in events] == ["payment_intent.created", "payment_intent.succeeded"]
            paid = (await client.get(f"/v1/payment_intents/{intent['id']}", headers=auth(secret))).json()
            assert paid["status"] == "succeeded"
    await api.aclose()
    await pool.close()


async def test_sbtc_priced_in_usd_is_paid_to_the_satoshi(
    db_url: str, chain: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fiat price in sBTC (priced as BTC), paid with the test sBTC token: the deny-mode post-condition
    names the token's asset, the contract splits it, the ledger has the parts to the satoshi."""
    url, deployments = chain
    monkeypatch.setenv("SLUICE_STACKS_API_URL_LOCAL", url)
    settings = make_settings(
        db_url, platform_fee_bps=0, price_source="fixed", fixed_rates={"SBTC/usd": Decimal("97000")}
    )
    registry = Registry.load(deployments=deployments, environ={})
    token = registry.network(NETWORK).asset("sBTC").address
    assert token == f"{DEPLOYER}.test-token"
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=registry)
    pool = await make_driver_pool(to_asyncpg_url(db_url), size=2)
    api = StacksApi(url)
    async with app.router.lifespan_context(app):
        secret = await make_stacks_merchant(db_url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            created = await client.post(
                "/v1/payment_intents",
                json={
                    "network": NETWORK,
                    "asset": "sBTC",
                    "price": {"amount": "25.00", "currency": "usd"},
                    "splits": [{"recipient": FEE_RECIPIENT, "bps": 333}],
                },
                headers=auth(secret),
            )
            assert created.status_code == 200, created.text
            intent = created.json()
            # 25 / 97,000 BTC = 0.00025773… → 25,773 satoshis (rounded as the quote rounds).
            assert (intent["decimals"], intent["quote"]["rate"]) == (8, "97000")
            amount = int(intent["amount"])
            assert amount == int(intent["quote"]["amount"]) and 25_770 <= amount <= 25_775
            answer = await client.post(
                f"/v1/payment_intents/{intent['id']}/transactions",
                json={"payer": PAYER},
                headers=auth(secret),
            )
            assert answer.status_code == 200, answer.text
            [call] = answer.json()["transactions"]
            assert call["post_conditions"] == [
                {
                    "type": "ft-postcondition",
                    "address": PAYER,
                    "condition": "eq",
                    "asset": f"{token}::test-token",
                    "amount": str(amount),
                }
            ]
            signed = sign_serialized(bytes.fromhex(call["unsigned_transaction"]), DEV_WALLET_1_KEY)
            tx_id = await api.broadcast(signed)
            await api.wait_for(tx_id)

            await _follower(pool, api, db_url).step()
            async with pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT asset, amount::text, merchant_amount::text, fee_amounts FROM ledger_entries "
                    "WHERE payment_intent_id = $1",
                    intent["id"],
                )
            fee = amount * 333 // 10_000
            assert row is not None and row["asset"] == token
            assert (int(row["amount"]), int(row["merchant_amount"])) == (amount, amount - fee)
            assert f'"amount": "{fee}"' in row["fee_amounts"]
            paid = (await client.get(f"/v1/payment_intents/{intent['id']}", headers=auth(secret))).json()
            assert (paid["status"], paid["amount_received"]) == ("succeeded", str(amount))
    await api.aclose()
    await pool.close()
