"""The Solana indexer loop (indexer/solana.py) on the real database and the local cluster: intents
created over the API, paid by signed transactions, followed by the loop's steps — `processing` at
`confirmed`, `succeeded` at `finalized`, a tampered payment announced as `payment_failed`, cursors
committed with the entries, a dropped signature rolled back."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from solders.keypair import Keypair
from solders.signature import Signature

sys.path.insert(0, str(Path(__file__).parents[2] / "api"))

from test_solana_api_e2e import make_solana_merchant

from api.app import create_app
from indexer.leader import Leadership
from indexer.solana import SolanaFollower, SolanaIndexerConfig
from sluice.config import to_asyncpg_url
from sluice.db.pool import make_driver_pool
from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.payment import payment_from_intent
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.transaction import build_transaction, decode_transaction

from intents_fixtures import auth, make_settings

pytestmark = pytest.mark.db


@dataclasses.dataclass
class Product:
    client: httpx.AsyncClient
    secret: str
    follower: SolanaFollower
    conn: asyncpg.Connection
    rpc: SolanaRpc

    async def create(self, amount: int = 5_000_000, asset: str = "USDC") -> dict:
        created = await self.client.post(
            "/v1/payment_intents",
            json={"network": "solana-local", "asset": asset, "amount": str(amount)},
            headers=auth(self.secret),
        )
        assert created.status_code == 200, created.text
        return created.json()  # type: ignore[no-any-return]

    async def pay(self, intent: dict, payer: Keypair, *, tamper: bool = False) -> str:
        if tamper:  # the payer keeps the platform's share: everything to the merchant
            row = await self.conn.fetchrow("SELECT * FROM payment_intents WHERE id = $1", intent["id"])
            payment = dataclasses.replace(payment_from_intent(SimpleNamespace(**dict(row))), splits=())
            tx = build_transaction(payment, payer.pubkey(), (await self.rpc.latest_blockhash())[0])
        else:
            answer = await self.client.post(
                f"/v1/payment_intents/{intent['id']}/transactions",
                json={"payer": str(payer.pubkey())},
                headers=auth(self.secret),
            )
            assert answer.status_code == 200, answer.text
            tx = decode_transaction(answer.json()["transactions"][0]["transaction"])
        tx.partial_sign([payer], tx.message.recent_blockhash)
        return await self.rpc.send_transaction(tx)

    async def status(self, intent: dict) -> str:
        return str(await self.conn.fetchval("SELECT status FROM payment_intents WHERE id = $1", intent["id"]))

    async def events(self, intent: dict) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT type FROM events WHERE object_id = $1 ORDER BY created_at, id", intent["id"]
        )
        return [r[0] for r in rows]


@pytest.fixture
async def product(
    db_url: str, rpc_url: str, keys: dict[str, Keypair], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Product]:
    monkeypatch.setenv("SLUICE_RPC_URL_SOLANA_LOCAL", rpc_url)
    platform = keys["platform"].pubkey()
    settings = make_settings(db_url, platform_fee_bps=100, platform_fee_recipient_solana=str(platform))
    app = create_app(settings, database_url=to_asyncpg_url(db_url))  # the product's own registry
    secret = await make_solana_merchant(db_url, Keypair().pubkey())
    rail = SolanaRail()
    pool = await make_driver_pool(to_asyncpg_url(db_url), 2)
    conn = await asyncpg.connect(db_url)
    config = SolanaIndexerConfig("solana-local", 0.05, str(settings.checkout_base_url), max_transactions=50)
    follower = SolanaFollower(config, rail, pool, Leadership(db_url, "solana-local"))
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO indexer_state (network, chain_id, last_block, head_block, confirmed_block,"
            " updated_at) VALUES ('solana-local', 0, -1, 0, -1, now())"
        )
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                yield Product(client, secret, follower, conn, rail.rpc("solana-local"))
    finally:
        await conn.close()
        await pool.close()
        await rail.aclose()


async def steps_until(product: Product, check, tries: int = 200) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await product.follower.step()
        if await check():
            return
        await asyncio.sleep(0.03)
    raise AssertionError("the condition never held")


async def test_paid_intent_goes_processing_then_succeeded_and_tampered_one_fails(
    product: Product, cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    good, tampered = await product.create(), await product.create(7_000_000)
    cluster.finality_depth = 10**6  # hold finality back: first only `confirmed`
    signature = await product.pay(good, keys["payer"])
    bad_signature = await product.pay(tampered, keys["payer2"], tamper=True)

    result = await product.follower.step()
    assert {e.tx_id for e in result.step.entries} == {signature, bad_signature}
    assert await product.status(good) == "processing"
    assert await product.status(tampered) == "requires_payment"
    assert await product.events(tampered) == ["payment_intent.created", "payment_intent.payment_failed"]
    cursors = await product.conn.fetch("SELECT account, signature FROM solana_cursors")
    assert [r["signature"] for r in cursors] == [bad_signature]  # one merchant token account, newest read

    again = await product.follower.step()  # nothing new: no entry, no event
    assert again.step.entries == () and again.events == []

    cluster.finality_depth = 2

    async def good_succeeded() -> bool:
        return await product.status(good) == "succeeded"

    await steps_until(product, good_succeeded)
    assert await product.events(good) == [
        "payment_intent.created",
        "payment_intent.processing",
        "payment_intent.succeeded",
    ]
    assert await product.events(tampered) == ["payment_intent.created", "payment_intent.payment_failed"]
    rows = await product.conn.fetch("SELECT tx_id, amount::text, verdict FROM ledger_entries ORDER BY height")
    assert [tuple(r) for r in rows] == [
        (signature, "5000000", "paid"),
        (bad_signature, "0", "split_mismatch"),
    ]
    state = await product.conn.fetchrow(
        "SELECT confirmed_block FROM indexer_state WHERE network = 'solana-local'"
    )
    assert state["confirmed_block"] >= max(e.position.height for e in result.step.entries)


async def test_a_paid_sol_intent_succeeds(product: Product, keys: dict[str, Keypair]) -> None:
    intent = await product.create(1_500_000_000, asset="SOL")
    await product.pay(intent, keys["payer"])

    async def succeeded() -> bool:
        return await product.status(intent) == "succeeded"

    await steps_until(product, succeeded)
    assert await product.conn.fetchval("SELECT amount_received::text FROM payment_intents") == "1500000000"


async def test_a_dropped_signature_is_rolled_back(product: Product, cluster: LocalCluster) -> None:
    """An entry the cluster no longer knows (a confirmed block abandoned) is deleted and its intent
    moves back, announced as reverted."""
    intent = await product.create()
    cluster.finality_depth = 10**6
    row = await product.conn.fetchrow("SELECT * FROM payment_intents WHERE id = $1", intent["id"])
    ghost = str(Signature.from_bytes(os.urandom(64)))  # a signature the node never saw
    slot = await product.rpc.slot()
    await product.conn.execute(
        "INSERT INTO ledger_entries (network, chain_id, rail, source, kind, intent_ref, payment_intent_id,"
        " merchant_id, tx_id, block_index, tx_index, height, block_id, block_time, amount, verdict, late,"
        " created_at) VALUES ('solana-local', 0, 'solana-pay', $1, 'received', $2, $3, $4, $5, 0, 0, $6,"
        " $7, now(), 5000000, 'paid', false, now())",
        row["contract_address"],
        row["onchain_id"],
        row["id"],
        row["merchant_id"],
        ghost,
        slot + 1,
        str(slot + 1),
    )
    await product.conn.execute("UPDATE payment_intents SET status = 'processing' WHERE id = $1", row["id"])
    result = await product.follower.step()
    assert result.step.dropped == (ghost,)
    assert await product.conn.fetchval("SELECT count(*) FROM ledger_entries") == 0
    assert await product.status(intent) == "requires_payment"
    assert "payment_intent.reverted" in await product.events(intent)
