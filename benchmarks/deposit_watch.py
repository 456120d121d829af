"""Deposit-address watching at scale: 10,000 open deposit addresses on anvil, a busy token emitting
200 unrelated transfers per block, and one deposit per block. Prints the p95 from a deposit's block
to its intent's `succeeded` (the local network's 1 confirmation) and the indexer's RPC calls per
block; the last line is JSON with `deposit_p95_ms`, `rpc_calls_per_block`, `open_addresses`.

    PYTHONPATH=$PWD python benchmarks/deposit_watch.py [--addresses 10000] [--noise 200] [--blocks 40]

Creates a fresh PostgreSQL database (DATABASE_URL's server, default
postgresql://postgres@127.0.0.1:5432/test) migrated to head, and a fresh anvil.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(ROOT),
    str(ROOT / "tests"),
    str(ROOT / "tests" / "indexer"),
    str(ROOT / "tests" / "deposits"),
]

from watch_env import (  # noqa: E402
    RpcCounter,
    dumps,
    make_deposit_intents,
    mine_block,
    prepare_chain,
    summary,
    wait_succeeded,
)

from sluice.chain.multicall import install_on_dev_chain  # noqa: E402
from sluice.chain.node import run_anvil  # noqa: E402
from sluice.db.admin import temporary_database  # noqa: E402

from indexer_env import create_merchant, deploy_env, indexer_settings  # noqa: E402

SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def measure(env, db_url: str, intents, noise: int, blocks: int, counter: RpcCounter) -> dict:
    from indexer.runner import run

    stop = asyncio.Event()
    task = asyncio.create_task(
        run(
            indexer_settings(db_url, indexer_poll_seconds=0.05),
            ["local"],
            stop,
            registry=env.registry,
            database_url=db_url,
            start_blocks={"local": env.deploy_block},
        )
    )
    try:
        # Warm up: the indexer catches up with the deployment blocks and loads the watch list.
        warm = mine_block(env, noise, [(intents[0].address, intents[0].amount)])
        await wait_succeeded(db_url, intents[0].id, timeout=120)
        print(f"caught up and first deposit seen {time.monotonic() - warm:.2f} s after its block")
        latencies: list[float] = []
        head0 = env.rpc.head()
        requests0, calls0 = counter.snapshot()
        for intent in intents[1 : blocks + 1]:
            mined = mine_block(env, noise, [(intent.address, intent.amount)])
            seen = await wait_succeeded(db_url, intent.id)
            latencies.append((seen - mined) * 1000)
        requests1, calls1 = counter.snapshot()
        mined_blocks = env.rpc.head() - head0
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    return {
        "latency_ms": summary(latencies),
        "blocks": mined_blocks,
        "rpc_calls_per_block": (calls1 - calls0) / mined_blocks,
        "rpc_requests_per_block": (requests1 - requests0) / mined_blocks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--noise", type=int, default=200)
    parser.add_argument("--blocks", type=int, default=40)
    args = parser.parse_args()
    print(f"load average before the run: {os.getloadavg()[0]:.2f}")
    counter = RpcCounter()
    counter.install()
    with (
        run_anvil("--gas-limit", "100000000") as anvil_url,
        tempfile.TemporaryDirectory() as tmp,
        temporary_database(SERVER_URL, "sluice_deposit_bench") as db_url,
    ):
        env = deploy_env(anvil_url, Path(tmp))
        install_on_dev_chain(env.w3.provider)
        prepare_chain(env)
        merchant = create_merchant(db_url)
        t0 = time.perf_counter()
        intents = make_deposit_intents(env, db_url, merchant, args.addresses)
        print(f"{args.addresses} deposit intents stored in {time.perf_counter() - t0:.1f} s")
        result = asyncio.run(measure(env, db_url, intents, args.noise, args.blocks, counter))
    lat = result["latency_ms"]
    print(
        f"{args.blocks} deposits, one per block, each block with {args.noise} unrelated USDC transfers, "
        f"{args.addresses} open addresses watched"
    )
    print(
        f"block → succeeded (1 confirmation): p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms, "
        f"max {lat['max']:.0f} ms"
    )
    print(
        f"indexer RPC per block: {result['rpc_calls_per_block']:.2f} JSON-RPC calls in "
        f"{result['rpc_requests_per_block']:.2f} HTTP requests (batches)"
    )
    print(
        dumps(
            {
                "deposit_p95_ms": round(lat["p95"], 1),
                "deposit_p50_ms": round(lat["p50"], 1),
                "rpc_calls_per_block": round(result["rpc_calls_per_block"], 2),
                "rpc_requests_per_block": round(result["rpc_requests_per_block"], 2),
                "open_addresses": args.addresses,
                "unrelated_transfers_per_block": args.noise,
            }
        )
    )


if __name__ == "__main__":
    main()
