"""The Solana rail through the product: an intent created over the API on `solana-local`, its
unsigned transaction asked for with a base58 payer, signed exactly as returned by a dev keypair and
sent to the local cluster, observed by the watcher, stored by the indexer's batch, moved to
`processing` at `confirmed` and `succeeded` at `finalized`, announced in the outbox."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import httpx
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

sys.path.insert(0, str(Path(__file__).parents[2] / "api"))

from api.app import create_app
from indexer.batch import BatchTarget, index_batch
from sluice.chain.registry import Registry
from sluice.config import to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode
from sluice.rails.registry import Rails
from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.follower import follow_step
from sluice.rails.solana.networks import network_configs
from sluice.rails.solana.observe import PaymentVerdict
from sluice.rails.solana.payment import payment_from_intent
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.transaction import build_transaction, decode_transaction
from sluice.rails.solana.watcher import ReferenceWatcher

from intents_fixtures import auth, make_registry, make_settings
from solana_fixtures import usdc_balance

pytestmark = pytest.mark.db


async def make_solana_merchant(db_url: str, payout: Pubkey) -> str:
    """A merchant paid on Solana (its `solana` payout address) and its test secret key."""
    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            merchant = await merchant_service.create(
                session, "Solana shop", payout_addresses={"solana": str(payout)}, rails=Rails([SolanaRail()])
            )
            key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
    finally:
        await engine.dispose()
    return key.secret


async def test_usdc_intent_paid_on_solana_local_succeeds_through_api_rail_and_indexer(
    db_url: str,
    rpc_url: str,
    cluster: LocalCluster,
    keys: dict[str, Keypair],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLUICE_RPC_URL_SOLANA_LOCAL", rpc_url)
    payer, platform, merchant = keys["payer"], keys["platform"].pubkey(), Keypair().pubkey()
    settings = make_settings(db_url, platform_fee_bps=100, platform_fee_recipient_solana=str(platform))
    registry = Registry({**{n.name: n for n in make_registry()}, **network_configs()})
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=registry)
    rail = SolanaRail()
    async with app.router.lifespan_context(app):
        app.state.intents.rails.add(rail)
        secret = await make_solana_merchant(db_url, merchant)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            created = await client.post(
                "/v1/payment_intents",
                json={"network": "solana-local", "asset": "USDC", "amount": "25000000"},
                headers=auth(secret),
            )
            assert created.status_code == 200, created.text
            intent = created.json()
            assert (intent["rail"], intent["status"]) == ("solana-pay", "requires_payment")

            escrow = await client.post(
                "/v1/payment_intents",
                json={"network": "solana-local", "asset": "USDC", "amount": "1", "capture_method": "manual"},
                headers=auth(secret),
            )
            assert escrow.status_code == 400
            assert escrow.json()["error"]["code"] == "capture_method_unsupported"

            evm_payer = await client.post(
                f"/v1/payment_intents/{intent['id']}/transactions",
                json={"payer": "0x" + "11" * 20, "method": "native"},
                headers=auth(secret),
            )
            assert evm_payer.status_code == 400 and evm_payer.json()["error"]["param"] == "payer"

            answer = await client.post(
                f"/v1/payment_intents/{intent['id']}/transactions",
                json={"payer": str(payer.pubkey()), "method": "native"},
                headers=auth(secret),
            )
            assert answer.status_code == 200, answer.text
            steps = answer.json()
            assert steps["rail"] == "solana-pay" and steps["transactions"][0]["fee_payer"] == str(
                payer.pubkey()
            )
            assert [leg["amount"] for leg in steps["legs"]] == ["24750000", "250000"]

            # The wallet: sign exactly what it was given, send it to the cluster.
            rpc = SolanaRpc(rpc_url)
            tx = decode_transaction(steps["transactions"][0]["transaction"])
            tx.partial_sign([payer], tx.message.recent_blockhash)
            signature = await rpc.send_transaction(tx)
            assert usdc_balance(cluster, merchant) == 24_750_000
            assert usdc_balance(cluster, platform) == 250_000

            # The indexer's part: follow the merchant's token account, store the entries per batch.
            conn = await asyncpg.connect(db_url)
            try:
                row = await conn.fetchrow("SELECT * FROM payment_intents WHERE id = $1", intent["id"])
                payment = payment_from_intent(SimpleNamespace(**dict(row)))
                watcher = ReferenceWatcher(rpc)
                watcher.watch([payment])
                cluster.finality_depth = 10**6  # hold finality back: first only `confirmed`
                step = await follow_step(rail, watcher, "solana-local")
                assert [e.tx_id for e in step.entries] == [signature] and step.pending == (signature,)
                assert step.entries[0].source == row["contract_address"]
                target = BatchTarget("solana-local", 0, await rpc.slot("finalized"), "http://127.0.0.1")
                async with conn.transaction():
                    first = await index_batch(conn, target, step.entries, {})

                cluster.finality_depth = 2
                for _ in range(100):
                    final = await follow_step(rail, watcher, "solana-local", step.pending)
                    if final.final:
                        break
                    await asyncio.sleep(0.02)
                assert final.final == (signature,)
                target = BatchTarget("solana-local", 0, await rpc.slot("finalized"), "http://127.0.0.1")
                async with conn.transaction():
                    second = await index_batch(conn, target, step.entries, {})
                async with conn.transaction():
                    again = await index_batch(conn, target, step.entries, {})
                stored = await conn.fetch(
                    "SELECT rail, amount::text, tx_id, payment_intent_id FROM ledger_entries"
                )
            finally:
                await conn.close()
            await rpc.aclose()
            assert [e.type for e in first] == ["payment_intent.processing"]
            assert [e.type for e in second] == ["payment_intent.succeeded"]
            assert again == []
            assert [tuple(r) for r in stored] == [("solana-pay", "25000000", signature, intent["id"])]

            paid = (await client.get(f"/v1/payment_intents/{intent['id']}", headers=auth(secret))).json()
            assert (paid["status"], paid["amount_received"]) == ("succeeded", "25000000")
    await rail.aclose()


async def test_a_tampered_payment_is_stored_but_never_marks_the_intent_paid(
    db_url: str,
    rpc_url: str,
    cluster: LocalCluster,
    keys: dict[str, Keypair],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The payer drops the platform's split and sends everything to the merchant: the entry is stored
    (credited 0, with what the merchant got), the intent stays unpaid."""
    monkeypatch.setenv("SLUICE_RPC_URL_SOLANA_LOCAL", rpc_url)
    payer, platform, merchant = keys["payer"], keys["platform"].pubkey(), Keypair().pubkey()
    settings = make_settings(db_url, platform_fee_bps=100, platform_fee_recipient_solana=str(platform))
    registry = Registry({**{n.name: n for n in make_registry()}, **network_configs()})
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=registry)
    rail = SolanaRail()
    async with app.router.lifespan_context(app):
        app.state.intents.rails.add(rail)
        secret = await make_solana_merchant(db_url, merchant)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            created = await client.post(
                "/v1/payment_intents",
                json={"network": "solana-local", "asset": "USDC", "amount": "8000000"},
                headers=auth(secret),
            )
            intent = created.json()
            rpc = SolanaRpc(rpc_url)
            conn = await asyncpg.connect(db_url)
            try:
                row = await conn.fetchrow("SELECT * FROM payment_intents WHERE id = $1", intent["id"])
                payment = payment_from_intent(SimpleNamespace(**dict(row)))
                tampered = dataclasses.replace(payment, splits=())  # everything to the merchant
                tx = build_transaction(tampered, payer.pubkey(), (await rpc.latest_blockhash())[0])
                tx.partial_sign([payer], tx.message.recent_blockhash)
                signature = await rpc.send_transaction(tx)
                assert usdc_balance(cluster, merchant) == 8_000_000

                watcher = ReferenceWatcher(rpc)
                watcher.watch([payment])
                step = await follow_step(rail, watcher, "solana-local")
                assert [o.validation.verdict for o in step.observations] == [PaymentVerdict.split_mismatch]
                for _ in range(100):
                    if (await rpc.slot("finalized")) >= step.entries[0].position.height:
                        break
                    await asyncio.sleep(0.02)
                target = BatchTarget("solana-local", 0, await rpc.slot("finalized"), "http://127.0.0.1")
                async with conn.transaction():
                    events = await index_batch(conn, target, step.entries, {})
                async with conn.transaction():
                    again = await index_batch(conn, target, step.entries, {})
                stored = await conn.fetch(
                    "SELECT amount::text, merchant_amount::text, tx_id, verdict, late FROM ledger_entries"
                    " WHERE payment_intent_id = $1",
                    intent["id"],
                )
            finally:
                await conn.close()
            await rpc.aclose()
            assert [tuple(r) for r in stored] == [("0", "8000000", signature, "split_mismatch", False)]
            # Announced once, as what it is; the intent stays unpaid.
            assert [e.type for e in events] == ["payment_intent.payment_failed"] and again == []
            error = events[0].object["last_payment_error"]
            assert (error["code"], error["tx_id"], error["amount_observed"]) == (
                "split_mismatch",
                signature,
                "8000000",
            )
            assert events[0].object["status"] == "requires_payment"
            after = (await client.get(f"/v1/payment_intents/{intent['id']}", headers=auth(secret))).json()
            assert (after["status"], after["amount_received"]) == ("requires_payment", "0")
    await rail.aclose()
