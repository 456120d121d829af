"""Reorganisations (anvil_reorg) roll back to the common ancestor: the database ends as a fresh re-index."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from indexer.runner import reindex_from, run

from indexer_env import (
    ChainEnv,
    event_counts,
    index_until,
    indexer_settings,
    make_intents,
    pay_tx,
    reset_index,
    send,
    snapshot,
)

pytestmark = [pytest.mark.db, pytest.mark.chain]


def intent_status(db_url: str, intent_id: str) -> tuple[str, int]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT status, amount_received FROM payment_intents WHERE id = %s", (intent_id,)
        ).fetchone()
    assert row is not None
    return row[0], int(row[1])


def paid_block(db_url: str, intent_id: str) -> str | None:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT block_id FROM ledger_entries WHERE payment_intent_id = %s", (intent_id,)
        ).fetchone()
    return None if row is None else row[0]


@pytest.mark.parametrize("mode", ["reincluded", "dropped"])
@pytest.mark.parametrize("depth", [1, 2, 5, 12, 64])
async def test_reorg_then_fresh_reindex_agree(env: ChainEnv, db_url, merchant_id, depth, mode):
    early, moved = make_intents(env, db_url, merchant_id, 2)
    send(env, pay_tx(env, early))
    env.rpc.mine(depth + 3)
    receipt = send(env, pay_tx(env, moved))
    raw = env.rpc.call("eth_getRawTransactionByHash", receipt["transactionHash"])
    if depth > 1:
        env.rpc.mine(depth - 1)  # the payment's block is the oldest one the reorg replaces
    await index_until(env, db_url)
    assert intent_status(db_url, moved.id) == ("succeeded", moved.onchain.amount)
    old_hash = paid_block(db_url, moved.id)

    txs = [[raw, min(1, depth - 1)]] if mode == "reincluded" else []
    env.rpc.call("anvil_reorg", depth, txs)
    env.rpc.mine(1)
    await index_until(env, db_url)

    if mode == "reincluded":
        assert intent_status(db_url, moved.id) == ("succeeded", moved.onchain.amount)
        assert paid_block(db_url, moved.id) not in (None, old_hash)
    else:
        assert intent_status(db_url, moved.id) == ("requires_payment", 0)
        assert paid_block(db_url, moved.id) is None
        assert event_counts(db_url)["payment_intent.reverted"] == 1
    assert intent_status(db_url, early.id) == ("succeeded", early.onchain.amount)

    after_reorg = snapshot(db_url)
    reset_index(db_url)
    await index_until(env, db_url)
    assert snapshot(db_url) == after_reorg


async def test_reorg_while_following_the_head_reverts_and_reapplies(env: ChainEnv, db_url, merchant_id):
    [intent] = make_intents(env, db_url, merchant_id, 1)
    env.rpc.mine(5)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run(
            indexer_settings(db_url),
            ["local"],
            stop,
            registry=env.registry,
            start_blocks={"local": env.deploy_block},
        )
    )
    try:
        receipt = send(env, pay_tx(env, intent))
        raw = env.rpc.call("eth_getRawTransactionByHash", receipt["transactionHash"])
        await _until(lambda: intent_status(db_url, intent.id)[0] == "succeeded")
        env.rpc.call("anvil_reorg", 3, [])
        await _until(lambda: intent_status(db_url, intent.id)[0] == "requires_payment")
        env.rpc.call("eth_sendRawTransaction", raw)
        await _until(lambda: intent_status(db_url, intent.id)[0] == "succeeded")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    counts = event_counts(db_url)
    assert counts["payment_intent.succeeded"] == 2 and counts["payment_intent.reverted"] == 1


async def test_reorg_deeper_than_the_window_halts_the_network(env: ChainEnv, db_url, merchant_id):
    [intent] = make_intents(env, db_url, merchant_id, 1)
    env.rpc.mine(30)
    send(env, pay_tx(env, intent))
    env.rpc.mine(20)
    settings = indexer_settings(db_url, indexer_reorg_window=8)
    await index_until(env, db_url, settings=settings)
    before = snapshot(db_url)
    env.rpc.call("anvil_reorg", 30, [])
    with pytest.raises(AssertionError, match="stopped before reaching"):
        await index_until(env, db_url, env.rpc.head() + 1, settings=settings, timeout=20)
    with psycopg.connect(db_url) as conn:
        [(reason,)] = conn.execute("SELECT halted_reason FROM indexer_state").fetchall()
    assert reason and "deeper than the 8-block window" in reason
    assert snapshot(db_url) == before  # nothing guessed, nothing changed
    # Restarting does not resume on its own.
    with pytest.raises(AssertionError, match="stopped before reaching"):
        await index_until(env, db_url, env.rpc.head() + 1, settings=settings, timeout=10)

    # The operator rolls back below the fork (`sluice indexer --reindex-from`): the payment the reorg
    # dropped is reverted, and indexing resumes on the new chain.
    await reindex_from(settings, "local", env.deploy_block, registry=env.registry)
    assert intent_status(db_url, intent.id) == ("requires_payment", 0)
    assert event_counts(db_url)["payment_intent.reverted"] == 1
    await index_until(env, db_url, settings=settings)
    reindexed = snapshot(db_url)
    assert reindexed["events"] == [] and reindexed["state"][0][0] == env.rpc.head()


async def _until(predicate, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
