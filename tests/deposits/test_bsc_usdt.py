"""The seeds' USDT-BEP20 flow end to end on a BSC-configured local chain: anvil with no base fee (payers send
3 gwei), the network's fee model `legacy` (type-0 transactions, `gasPrice`), 15
confirmations, and a USDT of BSC's shape (an OpenZeppelin ERC-20 with 18 decimals that returns
`bool`, as Binance-Peg USDT). One intent: create → deposit address → a plain transfer → processing
until 15 confirmations → succeeded → signed webhooks delivered → swept to the merchant and the fee
recipient by a legacy transaction, its gas recorded against the intent."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from eth_account import Account
from standardwebhooks import Webhook
from web3 import Web3

sys.path.insert(0, str(Path(__file__).parents[1] / "api" / "webhooks"))

from webhooks_support import Receiver

from sluice.chain.keys import ANVIL_RELAYER_KEY
from sluice.chain.registry import Asset, Registry
from sluice.chain.rpc import async_web3
from sluice.config import to_asyncpg_url
from sluice.contracts import load_artifact
from sluice.db.session import make_engine, make_sessionmaker
from sluice.deposits.sweeper import Sweeper

from chains import run_anvil
from indexer_env import OWNER, PAYER, ChainEnv, deploy_env, indexer_settings
from intents_fixtures import FEE_RECIPIENT, auth, make_settings

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.e2e]

GAS_PRICE = 3 * 10**9  # BSC's usual 3 gwei, no base fee
CONFIRMATIONS = 15  # BSC's confirmation depth in the registry
USDT_25 = 25 * 10**18  # 25 USDT in BEP20 USDT's 18 decimals
RELAYER = Account.from_key(ANVIL_RELAYER_KEY)


@pytest.fixture
def bsc(tmp_path: Path) -> Iterator[tuple[ChainEnv, Registry, Any]]:
    with run_anvil("--base-fee", "0", "--gas-price", str(GAS_PRICE)) as url:
        env = deploy_env(url, tmp_path)
        artifact = load_artifact("BlocklistToken")  # OZ ERC20: 18 decimals, returns bool (BEP20 USDT)
        tx = (
            env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
            .constructor()
            .transact({"from": OWNER})
        )
        usdt = env.w3.eth.contract(
            address=env.w3.eth.wait_for_transaction_receipt(tx)["contractAddress"], abi=artifact.abi
        )
        assert usdt.functions.decimals().call() == 18
        usdt.functions.mint(PAYER, 1000 * 10**18).transact({"from": OWNER})
        network = replace(
            env.registry.network("local"),
            fee_model="legacy",
            confirmations=CONFIRMATIONS,
            assets={"BNB": Asset("BNB", None, 18), "USDT": Asset("USDT", usdt.address, 18, stablecoin=True)},
        )
        yield env, Registry({"local": network}), usdt


@pytest.fixture
async def stack(db_url: str, bsc: tuple[ChainEnv, Registry, Any]) -> AsyncIterator[dict[str, Any]]:
    """The API (webhooks to 127.0.0.1 allowed), a merchant and its key, the indexer in the background,
    a webhook receiver."""
    from api.app import create_app
    from indexer.runner import run
    from sluice.merchants.service import merchant_service
    from sluice.models.merchant import ApiKeyKind, Mode

    env, registry, usdt = bsc
    merchant_address = Account.create().address
    engine = make_engine(to_asyncpg_url(db_url), pool_size=2)
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        merchant = await merchant_service.create(session, "BSC shop", merchant_address)
        key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
    settings = make_settings(db_url, webhook_allow_private=True)
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=registry)
    stop = asyncio.Event()
    indexer = asyncio.create_task(
        run(
            indexer_settings(db_url),
            ["local"],
            stop,
            registry=registry,
            database_url=db_url,
            start_blocks={"local": env.deploy_block},
        )
    )
    receiver = Receiver()
    await receiver.start()
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                yield {
                    "env": env,
                    "network": registry.network("local"),
                    "usdt": usdt,
                    "client": client,
                    "secret": key.secret,
                    "merchant": merchant_address,
                    "sessions": sessions,
                    "settings": settings,
                    "receiver": receiver,
                    "db_url": db_url,
                }
    finally:
        stop.set()
        await asyncio.wait_for(indexer, 30)
        await receiver.stop()
        await engine.dispose()


async def wait_for(client: httpx.AsyncClient, secret: str, intent_id: str, **expected: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        intent = (await client.get(f"/v1/payment_intents/{intent_id}", headers=auth(secret))).json()
        if all(intent[k] == v for k, v in expected.items()):
            return intent
        assert time.monotonic() < deadline, f"intent never reached {expected}: {intent}"
        await asyncio.sleep(0.1)


async def test_usdt_bep20_by_plain_transfer_on_a_bsc_configured_chain(stack: dict[str, Any]):
    from sluice.webhooks.worker import WebhookWorker

    env, usdt, client, secret = stack["env"], stack["usdt"], stack["client"], stack["secret"]
    w3: Web3 = env.w3
    hook = await client.post(
        "/v1/webhook_endpoints",
        json={"url": stack["receiver"].url, "enabled_events": ["*"]},
        headers=auth(secret),
    )
    assert hook.status_code == 200, hook.text
    hook_secret = hook.json()["secret"]

    # Create: a deposit address for 25 USDT (18 decimals) on the BSC-configured network.
    created = await client.post(
        "/v1/payment_intents",
        json={
            "network": "local",
            "asset": "USDT",
            "amount": str(USDT_25),
            "payment_method_types": ["deposit_address"],
        },
        headers=auth(secret),
    )
    assert created.status_code == 200, created.text
    intent = created.json()
    deposit = intent["deposit"]
    address = deposit["address"]
    assert deposit["amount"] == str(USDT_25) and deposit["token"] == usdt.address
    assert (
        deposit["uri"]
        == f"ethereum:{usdt.address}@{env.chain_id}/transfer?address={address}&uint256={USDT_25}"
    )

    # A plain transfer, as an exchange withdrawal makes it: a legacy transaction with a gas price.
    tx = usdt.functions.transfer(address, USDT_25).build_transaction(
        {"from": PAYER, "gasPrice": GAS_PRICE, "nonce": w3.eth.get_transaction_count(PAYER)}
    )
    tx.pop("maxFeePerGas", None), tx.pop("maxPriorityFeePerGas", None)
    sent = w3.eth.send_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(sent)
    assert receipt["status"] == 1 and int(w3.eth.get_transaction(sent)["type"]) == 0

    # Seen at once, succeeded only at 15 confirmations.
    seen = await wait_for(client, secret, intent["id"], status="processing")
    assert seen["amount_received"] == str(USDT_25)
    w3.provider.make_request("anvil_mine", [hex(CONFIRMATIONS - 2)])
    await asyncio.sleep(1.0)
    assert (await wait_for(client, secret, intent["id"]))["status"] == "processing"  # 14 of 15
    w3.provider.make_request("anvil_mine", [hex(1)])
    await wait_for(client, secret, intent["id"], status="succeeded")

    # Webhooks: delivered, signed per Standard Webhooks.
    worker = WebhookWorker(stack["sessions"], stack["settings"], jitter=lambda: 0.0)
    try:
        await worker.fan_out_once()
        await worker.deliver_due_once()
    finally:
        await worker.aclose()
    payloads = [Webhook(hook_secret).verify(r.body, r.headers) for r in stack["receiver"].received]
    assert [p["type"] for p in payloads] == [
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]
    assert payloads[-1]["data"]["object"]["id"] == intent["id"]

    # Sweep: a legacy transaction from the relayer; merchant and fee recipient paid as the terms say.
    network = stack["network"]
    merchant, fee_recipient = stack["merchant"], FEE_RECIPIENT
    fee = USDT_25 * stack["settings"].platform_fee_bps // 10_000  # the platform's split (1%)
    job = Sweeper(stack["sessions"], network, async_web3(network), RELAYER, receipt_wait=10)
    run = await job.run_once()
    assert len(run.sent) == 1 and run.planned_intents == [intent["id"]]
    sweep = w3.eth.get_transaction(run.sent[0])
    price = int(w3.eth.gas_price)  # what the node suggests (anvil: 1 gwei over a zero base fee)
    assert int(sweep["type"]) == 0 and int(sweep["gasPrice"]) == price > 0
    assert usdt.functions.balanceOf(address).call() == 0
    assert usdt.functions.balanceOf(merchant).call() == USDT_25 - fee
    assert fee > 0 and usdt.functions.balanceOf(fee_recipient).call() == fee

    conn = await asyncpg.connect(stack["db_url"])
    try:
        cost = await conn.fetchrow(
            "SELECT action, status, gas_used, effective_gas_price, fee_paid FROM relay_transactions "
            "WHERE payment_intent_id = $1",
            intent["id"],
        )
    finally:
        await conn.close()
    gas = int(w3.eth.get_transaction_receipt(run.sent[0])["gasUsed"])
    assert cost is not None and (cost["action"], cost["status"]) == ("sweep", "succeeded")
    assert cost["gas_used"] == gas and cost["effective_gas_price"] == price
    assert cost["fee_paid"] == gas * price
