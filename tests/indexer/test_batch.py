"""One batch cut into chunks: chunks never split an intent, the lane keeps statement order and fails
cleanly, and tiny chunks index a busy batch exactly as one chunk does (real anvil and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from indexer import batch
from indexer.batch import chunks_of
from indexer.lane import Lane, SkippedError
from sluice.ledger.entries import ChainPosition, EntryKind, LedgerEntry

from indexer_env import (
    ChainEnv,
    deposit_tx,
    escrow_call_tx,
    event_counts,
    index_until,
    make_intents,
    pay_tx,
    reset_index,
    send_blocks,
    snapshot,
)


def _event(onchain: int, block: int, log_index: int) -> LedgerEntry:
    return LedgerEntry(
        kind=EntryKind.received,
        network="local",
        rail="evm-contract",
        intent_ref=onchain.to_bytes(32, "big"),
        tx_id="0x" + f"{block:064x}",
        position=ChainPosition(height=block, index=log_index, tx_index=0, block_id="0x" + f"{block:064x}"),
        amount=1,
        source="0x" + "11" * 20,
    )


def test_chunks_keep_each_intents_events_together_in_chain_order():
    # Intent 1 has events in blocks 1 and 9, intent 2 in 2 and 3; others one each.
    events = [_event(1, 1, 0), _event(2, 2, 0), _event(2, 3, 0), _event(3, 4, 0), _event(4, 5, 0)]
    events += [_event(5, 6, 0), _event(1, 9, 0)]
    chunks = chunks_of(events, 3)
    assert [[e.position.height for e in c] for c in chunks] == [[1, 9], [2, 3, 4], [5, 6]]
    # An intent with more events than a chunk holds gets a chunk of its own, whole.
    many = [_event(7, b, 0) for b in range(10, 15)] + [_event(8, 20, 0)]
    assert [[e.position.height for e in c] for c in chunks_of(many, 3)] == [[10, 11, 12, 13, 14], [20]]
    assert chunks_of([], 3) == []


async def test_lane_runs_in_order_and_skips_after_a_failure():
    order: list[str] = []

    def step(name: str, fail: bool = False, delay: float = 0.0):
        async def run() -> str:
            await asyncio.sleep(delay)
            order.append(name)
            if fail:
                raise ValueError(name)
            return name

        return run

    async with Lane() as lane:
        first = lane.submit(step("a", delay=0.02))
        second = lane.submit(step("b"))
        assert await second == "b" and await first == "a"
    assert order == ["a", "b"]

    order.clear()
    with pytest.raises(ValueError, match="boom"):
        async with Lane() as lane:
            lane.submit(step("a"))
            lane.submit(step("boom", fail=True))
            skipped = lane.submit(step("c"))
            await asyncio.sleep(0.05)
    assert order == ["a", "boom"]
    assert isinstance(skipped.exception(), SkippedError)


async def test_lane_lets_the_running_statement_finish_when_the_caller_fails():
    finished: list[str] = []

    async def slow() -> None:
        await asyncio.sleep(0.05)
        finished.append("slow")

    async def never() -> None:
        finished.append("never")

    with pytest.raises(RuntimeError, match="caller"):
        async with Lane() as lane:
            lane.submit(slow)
            lane.submit(never)
            await asyncio.sleep(0.01)
            raise RuntimeError("caller")
    assert finished == ["slow"]


@pytest.mark.db
@pytest.mark.chain
async def test_tiny_chunks_index_a_busy_batch_as_one_chunk_does(
    env: ChainEnv, db_url, merchant_id, monkeypatch
):
    paid = make_intents(env, db_url, merchant_id, 12)
    escrow = make_intents(env, db_url, merchant_id, 6, kind="escrow", amount=30_000_000)
    txs = [pay_tx(env, i) for i in paid] + [deposit_tx(env, i) for i in escrow]
    txs += [escrow_call_tx(env, i, "capture", 10_000_000) for i in escrow[:3]]
    txs += [escrow_call_tx(env, i, "refund", 5_000_000) for i in escrow[1:4]]
    txs += [escrow_call_tx(env, i, "void") for i in escrow[4:]]
    send_blocks(env, txs, 4)

    monkeypatch.setattr(batch, "CHUNK_EVENTS", 1_000_000)
    await index_until(env, db_url)
    whole, whole_counts = snapshot(db_url), event_counts(db_url)
    assert whole_counts == {
        "payment_intent.succeeded": 12,
        "payment_intent.requires_capture": 4,
        "payment_intent.canceled": 2,
    }

    reset_index(db_url)
    monkeypatch.setattr(batch, "CHUNK_EVENTS", 2)
    await index_until(env, db_url)
    assert snapshot(db_url) == whole
    assert event_counts(db_url) == whole_counts
