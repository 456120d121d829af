"""10,000 open deposit addresses watched while a busy token emits unrelated transfers: the deposits
among them are found, the unrelated ones create nothing, and the indexer's RPC calls per block do not
grow with the number of addresses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from watch_env import RpcCounter, make_deposit_intents, mine_block, prepare_chain, wait_succeeded

from sluice.chain.multicall import install_on_dev_chain

from chains import run_anvil
from indexer_env import create_merchant, deploy_env, indexer_settings

pytestmark = [pytest.mark.db, pytest.mark.chain, pytest.mark.slow]


async def test_ten_thousand_addresses_and_a_busy_token(db_url: str, tmp_path: Path):
    from indexer.runner import run

    counter = RpcCounter()
    counter.install()
    with run_anvil("--gas-limit", "100000000") as url:
        env = deploy_env(url, tmp_path)
        install_on_dev_chain(env.w3.provider)
        prepare_chain(env)
        intents = make_deposit_intents(env, db_url, create_merchant(db_url), 10_000)
        stop = asyncio.Event()
        task = asyncio.create_task(
            run(
                indexer_settings(db_url),
                ["local"],
                stop,
                registry=env.registry,
                database_url=db_url,
                start_blocks={"local": env.deploy_block},
            )
        )
        try:
            mine_block(env, 200, [(intents[0].address, intents[0].amount)])
            await wait_succeeded(db_url, intents[0].id, timeout=60)
            _requests, calls = counter.snapshot()
            head = env.rpc.head()
            # Three deposits (one paid twice over two blocks) among 3 x 200 unrelated transfers.
            picked = [intents[9_999], intents[5_000], intents[1]]
            mine_block(env, 200, [(picked[0].address, picked[0].amount), (picked[1].address, 400_000)])
            mine_block(env, 200, [(picked[2].address, picked[2].amount), (picked[1].address, 600_000)])
            mine_block(env, 200, [])
            for intent in picked:
                await wait_succeeded(db_url, intent.id)
            await asyncio.sleep(0.5)
            blocks = env.rpc.head() - head
            _requests2, calls2 = counter.snapshot()
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    conn = await asyncpg.connect(db_url)
    try:
        entries = await conn.fetchval("SELECT count(*) FROM ledger_entries")
        unlinked = await conn.fetchval("SELECT count(*) FROM ledger_entries WHERE payment_intent_id IS NULL")
        paid = await conn.fetchval("SELECT count(*) FROM payment_intents WHERE status = 'succeeded'")
    finally:
        await conn.close()
    assert (entries, unlinked, paid) == (5, 0, 4)
    # A handful of calls per block whatever the number of addresses (the step's batch, one getLogs
    # for the tokens' transfers): far from one per address.
    assert (calls2 - calls) / blocks < 20, counter.calls
