"""Payments through both contracts land in the ledger and move their intents, exactly once."""

from __future__ import annotations

from dataclasses import replace

import httpx
import psycopg
import pytest

from sluice.chain.intents import ZERO_ADDRESS
from sluice.chain.registry import Registry

from chains import free_port
from indexer_env import (
    FEE,
    MERCHANT,
    PAYER,
    PLATFORM,
    ChainEnv,
    deposit_tx,
    escrow_call_tx,
    event_counts,
    index_until,
    indexer_settings,
    make_intents,
    pay_tx,
    send,
    send_blocks,
    snapshot,
)

pytestmark = [pytest.mark.db, pytest.mark.chain]


def rows(db_url: str, sql: str, *args: object) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def intent_state(db_url: str, intent_id: str) -> tuple:
    [row] = rows(
        db_url,
        "SELECT status, amount_received, amount_capturable, amount_refunded FROM payment_intents "
        "WHERE id = %s",
        intent_id,
    )
    return (row[0], int(row[1]), int(row[2]), int(row[3]))


async def test_payments_are_indexed_with_amounts_and_fee_splits(env: ChainEnv, db_url, merchant_id):
    usdc = make_intents(env, db_url, merchant_id, 3, amount=25_000_000)
    [native] = make_intents(env, db_url, merchant_id, 1, token=ZERO_ADDRESS, amount=10**16)
    send_blocks(env, [pay_tx(env, i) for i in [*usdc, native]], per_block=2)

    await index_until(env, db_url)

    events = rows(
        db_url,
        "SELECT kind, rail, payment_intent_id, merchant_id, payer, merchant, asset, amount, "
        "merchant_amount, fee_amounts, block_time IS NOT NULL FROM ledger_entries "
        "ORDER BY height, block_index",
    )
    assert len(events) == 4
    for intent, event in zip([*usdc, native], events, strict=True):
        name, kind, pi, mid, payer, merchant, token, amount, merchant_amount, fees, has_time = event
        assert (name, kind, pi, mid, payer, merchant) == (
            "received",
            "evm-contract",
            intent.id,
            merchant_id,
            PAYER,
            MERCHANT,
        )
        total = intent.onchain.amount
        assert int(amount) == total and has_time
        assert fees == [
            {"recipient": FEE, "amount": str(total * 100 // 10_000)},
            {"recipient": PLATFORM, "amount": str(total * 50 // 10_000)},
        ]
        assert int(merchant_amount) == total - total * 100 // 10_000 - total * 50 // 10_000
        assert token == (None if intent is native else env.usdc.address)
        assert intent_state(db_url, intent.id) == ("succeeded", total, 0, 0)
    assert event_counts(db_url) == {"payment_intent.succeeded": 4}


async def test_indexing_the_same_range_twice_changes_nothing(env: ChainEnv, db_url, merchant_id):
    intents = make_intents(env, db_url, merchant_id, 5)
    send_blocks(env, [pay_tx(env, i) for i in intents], per_block=2)
    await index_until(env, db_url)
    first = snapshot(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:  # forget the checkpoint, keep everything else
        conn.execute("UPDATE indexer_state SET last_block = %s, last_hash = NULL", (env.deploy_block - 1,))
    await index_until(env, db_url)
    assert snapshot(db_url) == first
    assert event_counts(db_url) == {"payment_intent.succeeded": 5}


async def test_escrow_deposit_capture_refund_and_void(env: ChainEnv, db_url, merchant_id):
    a, b = make_intents(env, db_url, merchant_id, 2, kind="escrow", amount=30_000_000)
    send(env, deposit_tx(env, a))
    send(env, deposit_tx(env, b))
    await index_until(env, db_url)
    assert intent_state(db_url, a.id) == ("requires_capture", 30_000_000, 30_000_000, 0)

    send(env, escrow_call_tx(env, a, "capture", 10_000_000))
    send(env, escrow_call_tx(env, a, "refund", 5_000_000))
    send(env, escrow_call_tx(env, b, "void"))
    await index_until(env, db_url)
    assert intent_state(db_url, a.id) == ("requires_capture", 30_000_000, 15_000_000, 5_000_000)
    assert intent_state(db_url, b.id) == ("canceled", 30_000_000, 0, 30_000_000)

    send(env, escrow_call_tx(env, a, "capture", 15_000_000))
    await index_until(env, db_url)
    assert intent_state(db_url, a.id) == ("succeeded", 30_000_000, 0, 5_000_000)

    captured = rows(
        db_url,
        "SELECT amount, merchant_amount, fee_amounts, asset, merchant FROM ledger_entries "
        "WHERE kind = 'captured' ORDER BY height",
    )
    assert [int(c[0]) for c in captured] == [10_000_000, 15_000_000]
    assert captured[0][2] == [
        {"recipient": FEE, "amount": "100000"},
        {"recipient": PLATFORM, "amount": "50000"},
    ]
    assert int(captured[0][1]) == 10_000_000 - 150_000
    assert captured[0][3] == env.usdc.address and captured[0][4] == MERCHANT
    names = [
        (r[0], r[1])
        for r in rows(db_url, "SELECT kind, reason FROM ledger_entries ORDER BY height, block_index")
    ]
    assert names == [
        ("escrow_deposited", None),
        ("escrow_deposited", None),
        ("captured", None),
        ("refunded", None),
        ("released", "void"),
        ("captured", None),
    ]
    counts = event_counts(db_url)
    assert counts["payment_intent.requires_capture"] == 2
    assert counts["payment_intent.canceled"] == 1 and counts["payment_intent.succeeded"] == 1
    # The capture and the refund were indexed in one batch: one change of amount_capturable.
    assert counts["payment_intent.amount_capturable_updated"] == 1


async def test_partial_deposits_fund_the_intent_step_by_step(env: ChainEnv, db_url, merchant_id):
    [intent] = make_intents(env, db_url, merchant_id, 1, kind="escrow", amount=30_000_000, allow_partial=True)
    send(env, deposit_tx(env, intent, 10_000_000))
    await index_until(env, db_url)
    assert intent_state(db_url, intent.id) == ("requires_capture", 10_000_000, 10_000_000, 0)
    send(env, deposit_tx(env, intent, 20_000_000))
    await index_until(env, db_url)
    assert intent_state(db_url, intent.id) == ("requires_capture", 30_000_000, 30_000_000, 0)
    totals = rows(db_url, "SELECT total FROM ledger_entries ORDER BY height")
    assert [int(t[0]) for t in totals] == [10_000_000, 30_000_000]
    counts = event_counts(db_url)
    assert counts["payment_intent.partially_funded"] == 1
    assert counts["payment_intent.amount_capturable_updated"] == 1


async def test_processing_until_the_confirmation_depth(env: ChainEnv, db_url, merchant_id):
    network = env.registry.network("local")
    env.registry = Registry({"local": replace(network, confirmations=3)})
    [intent] = make_intents(env, db_url, merchant_id, 1)
    send(env, pay_tx(env, intent))
    await index_until(env, db_url)
    assert intent_state(db_url, intent.id)[0] == "processing"
    env.rpc.mine(1)
    await index_until(env, db_url)
    assert intent_state(db_url, intent.id)[0] == "processing"
    env.rpc.mine(1)
    await index_until(env, db_url)
    assert intent_state(db_url, intent.id)[0] == "succeeded"
    assert event_counts(db_url) == {"payment_intent.processing": 1, "payment_intent.succeeded": 1}


async def test_events_of_unknown_intents_are_stored_unlinked(env: ChainEnv, db_url, merchant_id):
    [intent] = make_intents(env, db_url, merchant_id, 1)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM events")
        conn.execute("DELETE FROM payment_intents")
    send(env, pay_tx(env, intent))
    await index_until(env, db_url)
    [(pi, mid, onchain_id)] = rows(
        db_url, "SELECT payment_intent_id, merchant_id, intent_ref FROM ledger_entries"
    )
    assert pi is None and mid is None and bytes(onchain_id) == intent.onchain.id


async def test_metrics_are_served_when_a_port_is_set(env: ChainEnv, db_url, merchant_id):
    [intent] = make_intents(env, db_url, merchant_id, 1)
    send(env, pay_tx(env, intent))
    port = free_port()
    await index_until(env, db_url, settings=indexer_settings(db_url, indexer_metrics_port=port))
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert f'sluice_indexer_last_block{{network="local"}} {float(env.rpc.head())}' in text
    assert 'sluice_indexer_events_total{kind="received",network="local"}' in text
    assert "sluice_indexer_head_lag_blocks" in text
