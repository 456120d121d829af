"""The sweep job on anvil and PostgreSQL: paid deposit addresses swept in one batch once final, gas
recorded per intent, a reorganised-out sweep sent again, a lost transaction re-sent with its nonce."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sweep_env import AMOUNT, RELAYER, paid_intents, set_confirmed, sweep_rows

from sluice.deposits import sweeper as sweeper_module
from sluice.deposits.sweeper import Sweeper

from indexer_env import MERCHANT, SPLITS

pytestmark = [pytest.mark.db, pytest.mark.chain]


def sweeper(env, sessions, **kwargs) -> Sweeper:
    return Sweeper(sessions, env.network, env.async_w3(), RELAYER, **kwargs)


def fee_shares(amount: int) -> tuple[int, list[int]]:
    fees = [amount * s["bps"] // 10_000 for s in SPLITS]
    return amount - sum(fees), fees


async def test_paid_addresses_are_swept_in_one_batch_with_the_gas_recorded_per_intent(
    env, db_url, merchant_id, sessions
):
    paid = paid_intents(env, db_url, merchant_id, 3)
    short = paid_intents(env, db_url, merchant_id, 1, paid=AMOUNT - 1)
    set_confirmed(db_url, env.head())
    merchant_before = env.usdc.functions.balanceOf(MERCHANT).call()

    run = await sweeper(env, sessions).run_once()

    assert len(run.sent) == 1 and sorted(run.planned_intents) == sorted(p.id for p in paid)
    rows = sweep_rows(db_url)
    assert {r["intent"] for r in rows} == {p.id for p in paid}
    assert {r["outcome"] for r in rows} == {"swept"}
    tx_gas = rows[0]["tx_gas_used"]
    assert all(r["gas_used"] == tx_gas // 3 and r["fee_wei"] > 0 for r in rows)
    assert {r["relay_status"] for r in rows} == {"succeeded"} and {r["relay_tx"] for r in rows} == {
        run.sent[0]
    }
    merchant_amount, _ = fee_shares(AMOUNT)
    assert env.usdc.functions.balanceOf(MERCHANT).call() - merchant_before == 3 * merchant_amount
    assert all(env.usdc.functions.balanceOf(p.address).call() == 0 for p in paid)
    assert env.usdc.functions.balanceOf(short[0].address).call() == AMOUNT - 1  # not paid: not swept

    # The payments report shows each intent's share of the sweep on its payment row (relayer_fee).
    from sluice.reports.filters import ReportFilters
    from sluice.reports.queries import event_page

    async with sessions() as session:
        page, _ = await event_page(session, merchant_id, ReportFilters(("local",)), ("payment",), limit=10)
    fees = {row.event.payment_intent_id: row.relayer_fee for row in page}
    assert fees == {
        **{p.id: r["fee_wei"] for p in paid for r in rows if r["intent"] == p.id},
        short[0].id: None,
    }

    # Next run: final at 1 confirmation, nothing new to send.
    again = await sweeper(env, sessions).run_once()
    assert again.sent == [] and set(again.reconciled.values()) <= {"confirmed"}
    assert {r["tx_status"] for r in sweep_rows(db_url)} == {"confirmed"}
    assert len(env.swept_events()) == 3


async def test_native_coin_addresses_are_swept(env, db_url, merchant_id, sessions):
    paid = paid_intents(env, db_url, merchant_id, 2, native=True)
    set_confirmed(db_url, env.head())
    await sweeper(env, sessions).run_once()
    assert {r["outcome"] for r in sweep_rows(db_url)} == {"swept"}
    assert all(env.w3.eth.get_balance(p.address) == 0 for p in paid)


async def test_payments_above_the_confirmed_height_wait(env, db_url, merchant_id, sessions):
    paid_intents(env, db_url, merchant_id, 2)
    set_confirmed(db_url, env.head() - 1)  # the second payment's block is not final yet
    run = await sweeper(env, sessions).run_once()
    assert len(run.planned_intents) == 1
    assert len(sweep_rows(db_url)) == 1


async def test_a_sweep_reorganised_out_is_sent_again_and_sweeps_once(env, db_url, merchant_id, sessions):
    paid = paid_intents(env, db_url, merchant_id, 2)
    set_confirmed(db_url, env.head())
    snapshot = env.w3.provider.make_request("evm_snapshot", [])["result"]
    first = await sweeper(env, sessions, receipt_wait=0).run_once()
    env.w3.eth.wait_for_transaction_receipt(first.sent[0])
    # Not final yet at a depth of 3: then the chain drops the block holding the sweep.
    deep = sweeper(env, sessions)
    deep.network = replace(deep.network, confirmations=3)
    assert set((await deep.run_once()).reconciled.values()) == {"mined"}
    env.w3.provider.make_request("evm_revert", [snapshot])
    assert all(env.usdc.functions.balanceOf(p.address).call() == AMOUNT for p in paid)

    run = await deep.run_once()  # receipt gone, node does not know it, nonce unused: sent again
    assert run.reconciled == {first.sent[0]: "sent"}
    env.w3.eth.wait_for_transaction_receipt(first.sent[0])
    await deep.run_once()
    assert all(env.usdc.functions.balanceOf(p.address).call() == 0 for p in paid)
    rows = sweep_rows(db_url)
    assert len(rows) == 2 and {r["outcome"] for r in rows} == {"swept"}
    assert len(env.swept_events()) == 2


async def test_a_sweep_whose_nonce_went_elsewhere_is_dropped_and_planned_again(
    env, db_url, merchant_id, sessions, monkeypatch
):
    paid = paid_intents(env, db_url, merchant_id, 1)
    set_confirmed(db_url, env.head())
    job = sweeper(env, sessions)
    run = type("Run", (), {"waiting": []})()

    def crash(point: str) -> None:  # a crash after recording, before the broadcast
        if point == "after_plan":
            raise RuntimeError("killed")

    monkeypatch.setattr(sweeper_module, "_fault", crash)
    with pytest.raises(RuntimeError, match="killed"):
        await job.plan(run)  # recorded, never sent
    monkeypatch.undo()
    planned = type("Planned", (), {"tx_hash": sweep_rows(db_url)[0]["tx_hash"]})()
    job = sweeper(env, sessions)  # a new process: a new nonce manager
    # The relayer key sends something else with that nonce (an escrow capture from the API, say).
    env.w3.eth.send_transaction({"from": RELAYER.address, "to": RELAYER.address, "value": 0})
    result = await job.run_once()  # the old one is dropped, a new sweep planned and sent
    assert result.reconciled[planned.tx_hash] == "dropped"
    assert len(result.sent) == 1 and result.sent[0] != planned.tx_hash
    rows = sweep_rows(db_url)
    assert [r["outcome"] for r in rows] == ["failed", "swept"]
    assert [r["relay_status"] for r in rows] == ["dropped", "succeeded"]
    assert rows[0]["fee_wei"] is None and rows[1]["fee_wei"] > 0
    assert env.usdc.functions.balanceOf(paid[0].address).call() == 0


async def test_an_intent_whose_entries_name_another_address_is_not_swept(env, db_url, merchant_id, sessions):
    import psycopg

    paid_intents(env, db_url, merchant_id, 1)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE ledger_entries SET source = %s", ("0x" + "ab" * 20,))
    set_confirmed(db_url, env.head())
    run = await sweeper(env, sessions).run_once()
    assert run.sent == [] and sweep_rows(db_url) == []


async def test_a_legacy_gas_network_like_bsc_sweeps_with_a_gas_price(env, db_url, merchant_id, sessions):
    paid_intents(env, db_url, merchant_id, 2)
    set_confirmed(db_url, env.head())
    job = Sweeper(sessions, replace(env.network, fee_model="legacy"), env.async_w3(), RELAYER)
    run = await job.run_once()
    tx = env.w3.eth.get_transaction(run.sent[0])
    assert int(tx["type"]) == 0 and int(tx["gasPrice"]) > 0
    assert {r["outcome"] for r in sweep_rows(db_url)} == {"swept"}


async def test_a_stuck_sweep_is_replaced_with_its_nonce_and_every_version_recorded(
    env, db_url, merchant_id, sessions
):
    import asyncio

    import psycopg
    from web3.exceptions import TransactionNotFound

    from sluice.chain.relayer import RelayerNonceManager

    paid = paid_intents(env, db_url, merchant_id, 2)
    set_confirmed(db_url, env.head())
    env.w3.provider.make_request("evm_setAutomine", [False])  # nothing is mined: the sweep gets stuck
    manager = RelayerNonceManager(env.async_w3(), env.network, RELAYER, stuck_after=0.3, poll_interval=0.1)
    job = sweeper(env, sessions, receipt_wait=0, manager=manager)
    run = await job.run_once()
    first = run.sent[0]

    def versions() -> list[str]:
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT versions FROM deposit_sweep_txs WHERE tx_hash = %s", (first,)
            ).fetchone()
            return list(row[0])

    def broadcast(tx_hash: str) -> bool:
        try:
            env.w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return True

    for _ in range(100):  # each version is recorded first, then broadcast
        if len(found := versions()) >= 2 and broadcast(found[-1]):
            break
        await asyncio.sleep(0.1)
    manager.stuck_after = 3600  # no further replacement: the test mines the one it saw
    await asyncio.sleep(0.3)
    recorded = versions()
    assert len(recorded) >= 2 and recorded[0] == first  # replaced (same nonce, higher fee), recorded first
    replacement = env.w3.eth.get_transaction(recorded[-1])
    assert int(replacement["nonce"]) == 0
    env.w3.provider.make_request("evm_setAutomine", [True])
    env.w3.provider.make_request("evm_mine", [])
    mined = env.w3.eth.get_transaction_receipt(recorded[-1])
    assert mined["status"] == 1

    again = await sweeper(env, sessions).run_once()  # a new process reconciles from the versions
    assert again.reconciled == {first: "confirmed"}
    rows = sweep_rows(db_url)
    assert {r["outcome"] for r in rows} == {"swept"} and {r["relay_tx"] for r in rows} == {recorded[-1]}
    assert all(r["gas_used"] == int(mined["gasUsed"]) // 2 for r in rows)
    with psycopg.connect(db_url) as conn:
        replaced = conn.execute("SELECT DISTINCT replacements FROM relay_transactions").fetchall()
    assert replaced == [(len(recorded) - 1,)]
    assert all(env.usdc.functions.balanceOf(p.address).call() == 0 for p in paid)
    assert len(env.swept_events()) == 2
