"""`kill -9` at random moments during a backfill loses and duplicates nothing; two indexers fail over.

The indexer runs as `sluice indexer --network local` subprocesses on the real chain and database;
small block ranges make many batches, so the kills land before, inside and after commits.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

import servers
from indexer_env import (
    ChainEnv,
    checkpoint,
    event_counts,
    index_until,
    make_intents,
    pay_tx,
    reset_index,
    send_blocks,
    snapshot,
    wait_for,
)

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.e2e]


def indexer_process(env: ChainEnv, db_url: str, log_path: Path) -> Any:
    return servers.indexer_process(
        "local",
        db_url,
        log_path,
        {
            "SLUICE_RPC_URL_LOCAL": env.url,
            "SLUICE_DEPLOYMENTS_DIR": str(env.deployments),
            "SLUICE_INDEXER_MAX_BLOCK_RANGE": "8",
        },
    )


def backfill_with_kills(
    env: ChainEnv, db_url: str, tmp_path: Path, events: int, kills: int, seed: int
) -> None:
    rng = random.Random(seed)
    intents = make_intents(env, db_url, env_merchant(db_url), events)
    send_blocks(env, [pay_tx(env, i) for i in intents], per_block=5)
    head = env.rpc.head()
    log_path = tmp_path / "indexer.log"
    killed = 0
    while killed < kills and checkpoint(db_url) < head:
        before = checkpoint(db_url)
        with indexer_process(env, db_url, log_path) as proc:
            # Past start-up (the checkpoint moves), then a random moment of the backfill.
            wait_for(
                lambda before=before: checkpoint(db_url) > before or proc.poll() is not None,
                timeout=60,
                interval=0.01,
            )
            assert proc.poll() is None, log_path.read_text()[-2000:]
            # Short: a faster indexer finishes the backfill before enough kills otherwise; a batch of
            # SLUICE_INDEXER_MAX_BLOCK_RANGE blocks commits every few milliseconds.
            time.sleep(rng.uniform(0, 0.08))
            proc.send_signal(signal.SIGKILL)
            killed += 1
    starts = log_path.read_text().count("indexer_started")
    with indexer_process(env, db_url, log_path) as proc:
        wait_for(lambda: checkpoint(db_url) >= head, timeout=120)
        # Running (signal handlers installed) before the clean stop, even if it had nothing left to do.
        wait_for(lambda: log_path.read_text().count("indexer_started") > starts, timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert killed >= min(kills, 3), "the backfill finished before enough kills"

    # 0 lost, 0 duplicated: every payment stored once, every intent succeeded once.
    with psycopg.connect(db_url) as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT intent_ref) FROM ledger_entries"
        ).fetchone()
        statuses = conn.execute("SELECT status, count(*) FROM payment_intents GROUP BY status").fetchall()
    assert (stored, distinct) == (events, events)
    assert statuses == [("succeeded", events)]
    assert event_counts(db_url) == {"payment_intent.succeeded": events}


def env_merchant(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT id FROM merchants LIMIT 1").fetchone()
    assert row is not None
    return str(row[0])


async def _same_as_clean_run(env: ChainEnv, db_url: str) -> None:
    killed = snapshot(db_url)
    reset_index(db_url)
    await index_until(env, db_url)
    assert snapshot(db_url) == killed


async def test_sigkill_during_backfill_loses_and_duplicates_nothing(env, db_url, merchant_id, tmp_path):
    backfill_with_kills(env, db_url, tmp_path, events=1500, kills=5, seed=5)
    await _same_as_clean_run(env, db_url)


@pytest.mark.slow
async def test_sigkill_many_times_during_a_long_backfill(env, db_url, merchant_id, tmp_path):
    backfill_with_kills(env, db_url, tmp_path, events=5000, kills=25, seed=25)
    await _same_as_clean_run(env, db_url)


async def test_standby_indexer_takes_over_when_the_leader_dies(env, db_url, merchant_id, tmp_path):
    intents = make_intents(env, db_url, merchant_id, 1500)
    send_blocks(env, [pay_tx(env, i) for i in intents], per_block=5)
    head = env.rpc.head()
    with (
        indexer_process(env, db_url, tmp_path / "a.log") as leader,
        indexer_process(env, db_url, tmp_path / "b.log") as standby,
    ):
        wait_for(lambda: checkpoint(db_url) > env.deploy_block, timeout=60, interval=0.01)
        logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
        wait_for(
            lambda: (
                "indexer_waiting_for_leader"
                in (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
            ),
            timeout=30,
        )
        first, second = (
            (leader, standby)
            if "indexer_leader_acquired" in (tmp_path / "a.log").read_text()
            else (standby, leader)
        )
        assert checkpoint(db_url) < head, logs
        first.send_signal(signal.SIGKILL)
        first.wait()
        wait_for(lambda: checkpoint(db_url) >= head, timeout=120)
        assert second.poll() is None
    with psycopg.connect(db_url) as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT intent_ref) FROM ledger_entries"
        ).fetchone()
    assert (stored, distinct) == (1500, 1500)
    assert event_counts(db_url) == {"payment_intent.succeeded": 1500}
    await _same_as_clean_run(env, db_url)
