"""Reports and reconciliation on the real path: payments on anvil, the indexer, then the report API and
`sluice reconcile` (as a subprocess) against hand-computed totals and tampered books."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest

from api.app import create_app
from sluice.config import Settings, to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode
from sluice.reports.reconcile import run_reconciliation

from indexer_env import (
    OPERATOR_KEY,
    ChainEnv,
    deposit_tx,
    escrow_call_tx,
    index_until,
    make_intents,
    pay_tx,
    send,
    send_blocks,
)

pytestmark = [pytest.mark.db, pytest.mark.chain]

ROOT = Path(__file__).resolve().parents[2]
#: Every intent of indexer_env pays 100 + 50 bps of fees.
FEE_BPS = 150


def fees(amount: int) -> int:
    return amount * 100 // 10_000 + amount * 50 // 10_000


async def secret_key(db_url: str, merchant_id: str) -> str:
    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            issued = await merchant_service.issue_key(session, merchant_id, ApiKeyKind.secret, Mode.test)
            return issued.secret
    finally:
        await engine.dispose()


@pytest.fixture
async def api(env: ChainEnv, db_url: str, merchant_id: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(env="test", database_url=db_url, operator_key=OPERATOR_KEY)
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=env.registry)
    key = await secret_key(db_url, merchant_id)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sluice.test", headers={"Authorization": f"Bearer {key}"}
        ) as client:
            yield client


def execute(db_url: str, sql: str, *args: object) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql, args)  # type: ignore[arg-type]


async def reconcile(env: ChainEnv, db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(to_asyncpg_url(db_url), pool_size=2)
    try:
        return await run_reconciliation(make_sessionmaker(engine), env.registry.network("local"))
    finally:
        await engine.dispose()


def reconcile_cli(env: ChainEnv, db_url: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if k != "SLUICE_NETWORKS_FILE"},  # see test_crash_safety
        "DATABASE_URL": db_url,
        "SLUICE_DEPLOYMENTS_DIR": str(env.deployments),
        "SLUICE_RPC_URL_LOCAL": env.url,
        "SLUICE_OPERATOR_KEY": OPERATOR_KEY,
        "SLUICE_ENV": "test",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "launcher.cli", "reconcile", "--network", "local"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_reports_after_payments_captures_refunds_and_a_reorg_equal_hand_totals(
    env: ChainEnv, db_url, merchant_id, api
):
    paid = make_intents(env, db_url, merchant_id, 3, amount=25_000_000)
    [escrow] = make_intents(env, db_url, merchant_id, 1, kind="escrow", amount=10_000_000)
    send_blocks(env, [pay_tx(env, i) for i in paid[:2]], per_block=2)
    send(env, deposit_tx(env, escrow))
    send(env, escrow_call_tx(env, escrow, "capture", 6_000_000))
    send(env, escrow_call_tx(env, escrow, "refund", 1_000_000))
    send(env, escrow_call_tx(env, escrow, "void"))
    send(env, pay_tx(env, paid[2]))
    await index_until(env, db_url)
    # A reorganisation drops the last payment: the reports must forget it.
    env.rpc.call("anvil_reorg", 1, [])
    env.rpc.mine(1)
    await index_until(env, db_url)

    payments = (await api.get("/v1/reports/payments")).json()["data"]
    assert [p["type"] for p in payments] == ["capture", "escrow_deposit", "payment", "payment"]
    assert paid[2].id not in {p["payment_intent"] for p in payments}
    first = payments[-1]
    assert (int(first["gross"]), int(first["fee_total"]), int(first["net"])) == (
        25_000_000, fees(25_000_000), 25_000_000 - fees(25_000_000),
    )  # fmt: skip
    assert [f["amount"] for f in first["fees"]] == ["250000", "125000"]
    assert first["confirmations"] >= 1 and first["tx_hash"].startswith("0x")

    [usdc] = (await api.get("/v1/reports/balances")).json()["data"]
    expected = {
        "received": 2 * 25_000_000 + 10_000_000,
        "captured": 6_000_000,
        "refunded": 1_000_000 + 3_000_000,
        "in_escrow": 0,
        "fees": 2 * fees(25_000_000) + fees(6_000_000),
        "net": 2 * (25_000_000 - fees(25_000_000)) + 6_000_000 - fees(6_000_000),
    }
    assert {k: int(usdc[k]) for k in expected} == expected and usdc["payments"] == 3

    summary = (await api.get("/v1/reports/summary", params={"interval": "month"})).json()
    [period] = summary["periods"]
    assert int(period["gross"]) == expected["received"] and int(period["fees"]) == expected["fees"]
    assert summary["status_counts"]["succeeded"] == 3  # two payments and the captured escrow
    assert summary["status_counts"]["requires_payment"] == 1  # the payment the reorg removed
    assert summary["confirmed_payments"] == 3 and summary["average_confirmation_seconds"] is not None
    refunds = (await api.get("/v1/reports/refunds")).json()["data"]
    assert sorted((r["type"], int(r["amount"])) for r in refunds) == [
        ("refund", 1_000_000),
        ("void", 3_000_000),
    ]


async def test_reconciliation_finds_deleted_altered_and_unseen_events(
    env: ChainEnv, db_url, merchant_id, api
):
    intents = make_intents(env, db_url, merchant_id, 4, amount=25_000_000)
    send_blocks(env, [pay_tx(env, i) for i in intents[:3]], per_block=1)
    await index_until(env, db_url)

    clean = reconcile_cli(env, db_url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "clean" in clean.stdout

    # Tamper with the books: delete one payment, alter another; and let one event go unseen (the
    # checkpoint moves past a block the indexer never read).
    deleted, altered = intents[0], intents[1]
    execute(db_url, "DELETE FROM ledger_entries WHERE payment_intent_id = %s", deleted.id)
    execute(db_url, "UPDATE ledger_entries SET amount = amount - 1 WHERE payment_intent_id = %s", altered.id)
    unseen = send(env, pay_tx(env, intents[3]))
    execute(
        db_url,
        "UPDATE indexer_state SET last_block = %s, head_block = %s WHERE network = 'local'",
        int(unseen["blockNumber"], 16),
        int(unseen["blockNumber"], 16),
    )

    dirty = reconcile_cli(env, db_url)
    assert dirty.returncode == 1, dirty.stdout + dirty.stderr
    run = await reconcile(env, db_url)
    assert run.status == "mismatch"
    found = {(m["kind"], m.get("payment_intent")) for m in run.mismatches}
    assert found == {
        ("missing", deleted.id),
        ("amount_differs", altered.id),
        ("missing", intents[3].id),
        ("intent_differs", intents[3].id),  # the intent never moved: received 0, the chain says 25
    }
    differs = next(m for m in run.mismatches if m["kind"] == "amount_differs")
    assert (differs["chain_amount"], differs["database_amount"]) == ("25000000", "24999999")
    assert run.chain_events == 4 and run.db_events == 2
    totals = {(t["event"], t["merchant_id"]): t for t in run.totals}
    assert totals[("payment", merchant_id)]["chain"] == "100000000"
    assert totals[("payment", merchant_id)]["database"] == str(50_000_000 - 1)

    view = (await api.get("/v1/reports/reconciliation")).json()["data"]
    assert [v["status"] for v in view] == ["mismatch"] and len(view[0]["mismatches"]) == 4
    assert all("merchant_id" not in m for m in view[0]["mismatches"])


async def test_the_scheduled_job_reconciles_once_across_workers(env: ChainEnv, db_url, merchant_id):
    from sqlalchemy import func, select

    from sluice.reports.reconcile import RECONCILE_LOCK, reconcile_indexed_networks

    send(env, pay_tx(env, make_intents(env, db_url, merchant_id, 1)[0]))
    engine = make_engine(to_asyncpg_url(db_url), pool_size=3)
    sessions = make_sessionmaker(engine)
    try:
        assert await reconcile_indexed_networks(sessions, env.registry) == []  # never indexed: skipped
        await index_until(env, db_url)
        [run] = await reconcile_indexed_networks(sessions, env.registry)
        assert (run.status, run.chain_events, run.db_events) == ("clean", 1, 1)
        async with sessions() as other, other.begin():  # another worker is reconciling right now
            assert (await other.execute(select(func.pg_try_advisory_xact_lock(RECONCILE_LOCK)))).scalar_one()
            assert await reconcile_indexed_networks(sessions, env.registry) == []
    finally:
        await engine.dispose()
