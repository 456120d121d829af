"""`kill -9` of `sluice sweep` between planning and sending, and between sending and recording: the
next run finds or re-sends the same signed transaction; nothing is lost and nothing is swept twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_env import AMOUNT, paid_intents, set_confirmed, sweep_rows

from indexer_env import MERCHANT, SPLITS

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]


def run_sweep(env, db_url: str, tmp_path: Path, fault: str | None = None) -> int:
    inherited = {
        k: v for k, v in os.environ.items() if k not in ("SLUICE_NETWORKS_FILE", "SLUICE_SWEEP_FAULT")
    }
    process_env = {
        **inherited,
        "PYTHONPATH": str(ROOT),
        "SLUICE_ENV": "test",
        "SLUICE_DATABASE_URL": db_url,
        "SLUICE_RPC_URL_LOCAL": env.url,
        "SLUICE_DEPLOYMENTS_DIR": str(env.deployments),
        **({"SLUICE_SWEEP_FAULT": fault} if fault else {}),
    }
    with (tmp_path / "sweep.log").open("ab") as log:
        proc = subprocess.run(
            [sys.executable, "-m", "launcher.cli", "sweep", "--network", "local", "--once"],
            env=process_env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
    return proc.returncode


def merchant_share() -> int:
    return AMOUNT - sum(AMOUNT * s["bps"] // 10_000 for s in SPLITS)


@pytest.mark.parametrize("fault", ["after_send", "after_plan"])
def test_kill_9_during_a_sweep_batch_loses_and_duplicates_nothing(env, db_url, merchant_id, tmp_path, fault):
    paid = paid_intents(env, db_url, merchant_id, 4)
    set_confirmed(db_url, env.head())
    before = env.usdc.functions.balanceOf(MERCHANT).call()

    assert run_sweep(env, db_url, tmp_path, fault) == -signal.SIGKILL
    rows = sweep_rows(db_url)
    assert len(rows) == 4 and {r["tx_status"] for r in rows} == {"planned"}  # recorded before sending
    tx_hash = rows[0]["tx_hash"]
    mined = env.w3.eth.get_transaction_receipt(tx_hash) if fault == "after_send" else None
    assert (mined is not None) == (fault == "after_send")

    for _ in range(3):  # restarts: reconcile (found or re-sent), then record and confirm
        assert run_sweep(env, db_url, tmp_path) == 0
    rows = sweep_rows(db_url)
    assert {r["tx_hash"] for r in rows} == {tx_hash}  # the same signed transaction, never a second one
    assert {r["outcome"] for r in rows} == {"swept"} and {r["tx_status"] for r in rows} == {"confirmed"}
    assert len(env.swept_events()) == 4
    assert env.usdc.functions.balanceOf(MERCHANT).call() - before == 4 * merchant_share()
    assert all(env.usdc.functions.balanceOf(p.address).call() == 0 for p in paid)
