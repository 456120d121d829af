"""After a sweep, on anvil with the indexer running: a native-coin payment to an address already swept
is still seen (the watcher's baseline starts again from zero at the `Swept`), and a sweep sent by
someone else (anyone may call `sweep`) is recorded as the intent's `swept` entry, so the sweep job
neither waits for it forever nor sweeps twice."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from deposit_env import DepositEnv
from eth_account import Account
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.chain.keys import ANVIL_RELAYER_KEY
from sluice.chain.rpc import async_web3
from sluice.config import to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.deposits import DepositTerms, sweep_calldata
from sluice.deposits.sweeper import Sweeper, SweepRun

from indexer_env import PAYER, PAYER2

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.e2e]

RELAYER = Account.from_key(ANVIL_RELAYER_KEY)
USDC_25 = 25_000_000


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(to_asyncpg_url(db_url), pool_size=2)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def sweep_until(job: Sweeper, done: Any, timeout: float = 20.0) -> SweepRun:
    """Runs the sweep job until `done(run)` (the indexer must first confirm the payment)."""
    deadline = time.monotonic() + timeout
    while True:
        run = await job.run_once()
        if done(run):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"the sweep job never got there: {run}")
        await asyncio.sleep(0.2)


async def kinds(deposits: DepositEnv, intent_id: str) -> list[str]:
    return [e[0] for e in await deposits.entries(intent_id)]


async def wait_for_kinds(deposits: DepositEnv, intent_id: str, expected: list[str]) -> None:
    deadline = time.monotonic() + 20
    while (found := await kinds(deposits, intent_id)) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"entries {found}, expected {expected}")
        await asyncio.sleep(0.1)


async def terms_of(deposits: DepositEnv, intent_id: str) -> DepositTerms:
    conn = await asyncpg.connect(deposits.db_url)
    try:
        row = await conn.fetchrow(
            "SELECT onchain_id, chain_id, payout_address, token_address, amount, splits "
            "FROM payment_intents WHERE id = $1",
            intent_id,
        )
    finally:
        await conn.close()
    assert row is not None
    import json

    splits = row["splits"]
    return DepositTerms.of(
        intent_ref=bytes(row["onchain_id"]),
        chain_id=int(row["chain_id"]),
        merchant=row["payout_address"],
        token=row["token_address"],
        amount=int(row["amount"]),
        splits=json.loads(splits) if isinstance(splits, str) else splits,
    )


async def test_a_native_payment_after_the_sweep_is_recorded_and_announced(
    deposits: DepositEnv, sessions: async_sessionmaker[AsyncSession]
):
    amount = 10**17
    intent = await deposits.create(asset="ETH", amount=str(amount))
    address = intent["deposit"]["address"]
    deposits.send_native(PAYER, address, amount)
    await deposits.wait(intent["id"], status="succeeded")

    network = deposits.registry.network("local")
    job = Sweeper(sessions, network, async_web3(network), RELAYER, receipt_wait=10)
    await sweep_until(job, lambda run: run.sent)
    assert deposits.chain.w3.eth.get_balance(address) == 0
    await wait_for_kinds(deposits, intent["id"], ["received", "swept"])

    deposits.send_native(PAYER2, address, amount // 2)  # the balance is back from 0 to amount / 2

    again = await deposits.wait(intent["id"], amount_received=str(amount + amount // 2))
    assert again["status"] == "succeeded"
    await wait_for_kinds(deposits, intent["id"], ["received", "swept", "received"])
    assert (await deposits.event_types(intent["id"]))[-1] == "payment_intent.overpaid"
    entries = await deposits.entries(intent["id"])
    assert entries[-1][1] == str(amount // 2)  # only the new money, not the swept amount again

    # The second payment is not swept automatically (the merchant refunds it or sweeps it).
    run = await job.run_once()
    assert run.sent == [] and run.waiting == []  # never swept twice: the second payment is the merchant's


async def test_a_sweep_sent_by_someone_else_is_recorded_and_not_awaited(
    deposits: DepositEnv, sessions: async_sessionmaker[AsyncSession]
):
    intent = await deposits.create()
    usdc, address = deposits.chain.usdc, intent["deposit"]["address"]
    deposits.send_token(usdc, PAYER, address, USDC_25)
    await deposits.wait(intent["id"], status="succeeded")

    # Anyone may sweep: a stranger sends the factory's sweep with the intent's terms.
    w3 = deposits.chain.w3
    factory = deposits.registry.network("local").contracts.deposits
    terms = await terms_of(deposits, intent["id"])
    tx = w3.eth.send_transaction({"from": PAYER2, "to": factory, "data": sweep_calldata([terms]).to_0x_hex()})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    assert usdc.functions.balanceOf(address).call() == 0

    await wait_for_kinds(deposits, intent["id"], ["received", "swept"])
    conn = await asyncpg.connect(deposits.db_url)
    try:
        swept = await conn.fetchrow(
            "SELECT tx_id, amount::text FROM ledger_entries WHERE payment_intent_id = $1 AND kind = 'swept'",
            intent["id"],
        )
    finally:
        await conn.close()
    assert swept is not None and swept["tx_id"] == tx.to_0x_hex() and swept["amount"] == str(USDC_25)

    network = deposits.registry.network("local")
    job = Sweeper(sessions, network, async_web3(network), RELAYER)
    run = await job.run_once()
    assert run.sent == [] and run.waiting == [] and run.planned_intents == []  # recorded, not waited on
    paid = await deposits.get(intent["id"])
    assert paid["status"] == "succeeded" and paid["amount_received"] == str(USDC_25)
