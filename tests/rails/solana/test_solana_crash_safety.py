"""`kill -9` at random moments during a Solana backfill loses and duplicates nothing (the Solana twin
of tests/indexer/test_crash_safety.py).

The local cluster runs in its own process (`python -m sluice.rails.solana.devchain`), the payments
are on it before the indexer starts, and `sluice indexer --network solana-local` runs as a subprocess
reading at most a few transactions per step, so the kills land before, inside and after commits.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import psycopg
import pytest
from solders.keypair import Keypair

sys.path.insert(0, str(Path(__file__).parents[2] / "api"))

from test_solana_api_e2e import make_solana_merchant

from api.app import create_app
from sluice.config import to_asyncpg_url
from sluice.rails.solana.devchain.server import free_port
from sluice.rails.solana.payment import payment_from_intent
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.transaction import build_transaction

import servers
from intents_fixtures import auth, make_settings

pytestmark = [pytest.mark.db, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[3]


@contextmanager
def devchain(tmp_path: Path) -> Iterator[dict]:
    info_file = tmp_path / "dev.json"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sluice.rails.solana.devchain",
            "--port",
            str(port),
            "--slot-ms",
            "50",
            "--info-file",
            str(info_file),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: info_file.exists() or proc.poll() is not None, timeout=60)
        assert proc.poll() is None
        yield json.loads(info_file.read_text())["solana"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def indexer_process(db_url: str, rpc_url: str, log_path: Path) -> Any:
    return servers.indexer_process(
        "solana-local",
        db_url,
        log_path,
        {"SLUICE_RPC_URL_SOLANA_LOCAL": rpc_url, "SLUICE_SOLANA_INDEXER_MAX_TRANSACTIONS": "4"},
    )


def wait_for(check, timeout: float, interval: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError("timed out")


def stored(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        return int(conn.execute("SELECT count(*) FROM ledger_entries").fetchone()[0])  # type: ignore[index]


def succeeded(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM payment_intents WHERE status = 'succeeded'").fetchone()
    return int(row[0])  # type: ignore[index]


async def pay_intents(db_url: str, info: dict, count: int) -> list[str]:
    """`count` USDC intents created over the API, each paid by its own transaction on the cluster."""
    settings = make_settings(
        db_url, platform_fee_bps=100, platform_fee_recipient_solana=info["keypairs"]["platform"]["address"]
    )
    app = create_app(settings, database_url=to_asyncpg_url(db_url))
    secret = await make_solana_merchant(db_url, Keypair().pubkey())
    payer = Keypair.from_base58_string(info["keypairs"]["payer"]["secret_key"])
    rpc = SolanaRpc(info["rpc_url"])
    signatures = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            ids = []
            for i in range(count):
                created = await client.post(
                    "/v1/payment_intents",
                    json={"network": "solana-local", "asset": "USDC", "amount": str(1_000_000 + i)},
                    headers=auth(secret),
                )
                assert created.status_code == 200, created.text
                ids.append(created.json()["id"])
    conn = await asyncpg.connect(db_url)
    try:
        for intent_id in ids:
            row = await conn.fetchrow("SELECT * FROM payment_intents WHERE id = $1", intent_id)
            payment = payment_from_intent(SimpleNamespace(**dict(row)))
            tx = build_transaction(payment, payer.pubkey(), (await rpc.latest_blockhash())[0])
            tx.partial_sign([payer], tx.message.recent_blockhash)
            signatures.append(await rpc.send_transaction(tx))
    finally:
        await conn.close()
        await rpc.aclose()
    return signatures


async def test_sigkill_during_a_solana_backfill_loses_and_duplicates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    count, kills, rng = 60, 5, random.Random(19)
    log_path = tmp_path / "indexer.log"
    with devchain(tmp_path) as info:
        signatures = await pay_intents(db_url, info, count)
        killed = 0
        while killed < kills and stored(db_url) < count:
            before = stored(db_url)
            with indexer_process(db_url, info["rpc_url"], log_path) as proc:
                wait_for(lambda before=before: stored(db_url) > before or proc.poll() is not None, timeout=60)
                assert proc.poll() is None, log_path.read_text()[-2000:]
                time.sleep(rng.uniform(0, 0.05))
                proc.send_signal(signal.SIGKILL)
                killed += 1
        starts = log_path.read_text().count("indexer_started")
        with indexer_process(db_url, info["rpc_url"], log_path) as proc:
            wait_for(lambda: succeeded(db_url) == count, timeout=120)
            # Running (signal handlers installed) before the clean stop, even if it had nothing left
            # to do (the killed ones may have stored everything): as the EVM crash test.
            wait_for(lambda: log_path.read_text().count("indexer_started") > starts, timeout=60)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0, log_path.read_text()[-2000:]
    assert killed >= 3, "the backfill finished before enough kills"

    with psycopg.connect(db_url) as conn:
        entries = conn.execute("SELECT tx_id, verdict FROM ledger_entries").fetchall()
        events = conn.execute(
            "SELECT type, count(*), count(DISTINCT object_id) FROM events GROUP BY type ORDER BY type"
        ).fetchall()
        cursor = conn.execute("SELECT signature FROM solana_cursors").fetchall()
    # 0 lost, 0 duplicated: every payment stored once, every intent announced once per status.
    assert sorted(e[0] for e in entries) == sorted(signatures) and {e[1] for e in entries} == {"paid"}
    by_type = {t: (n, distinct) for t, n, distinct in events}
    assert by_type["payment_intent.created"] == (count, count)
    assert by_type["payment_intent.succeeded"] == (count, count)
    assert set(by_type) <= {"payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"}
    if "payment_intent.processing" in by_type:
        n, distinct = by_type["payment_intent.processing"]
        assert n == distinct
    assert cursor == [(signatures[-1],)]  # the merchant's token account, read to its newest payment
