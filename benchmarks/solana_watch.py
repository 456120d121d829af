"""Latency from a Solana payment's confirmation to its observation, with 10,000 open intents, and the
RPC calls per second the rail's watcher makes.

    .venv/bin/python benchmarks/solana_watch.py [--open-intents 10000] [--merchants 10]
        [--payments 100] [--rate 5] [--poll-ms 200]

1. starts the local Solana cluster (LiteSVM behind its JSON-RPC, `python -m
   sluice.rails.solana.devchain`) in its own process on a free 127.0.0.1 port;
2. opens --open-intents USDC intents spread over --merchants merchants (random references) and
   watches them with `ReferenceWatcher` (one getSignaturesForAddress per merchant token account per
   poll, one getTransaction per new transaction; references matched in memory), polling every
   --poll-ms;
3. a payer pays --payments random intents at --rate per second, each through the rail (build over
   RPC, sign as returned, sendTransaction). The local cluster confirms a transaction when
   sendTransaction returns, so the latency measured is from that return to the poll that
   observes the payment (its ledger entry is ready: the moment the intent can become `processing`;
   the database write that follows belongs to the indexer and is not in this figure);
4. prints a table and, as the very last line, one JSON object with `solana_confirm_p95_ms`,
   `rpc_calls_per_s` (the watcher's calls only, over the whole run) and `open_intents`.

Only 127.0.0.1 is contacted. Takes about --payments / --rate + 5 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from solders.keypair import Keypair

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sluice.rails.solana.networks import LOCAL_USDC_MINT  # noqa: E402
from sluice.rails.solana.payment import SolanaPayment  # noqa: E402
from sluice.rails.solana.rail import SolanaRail  # noqa: E402
from sluice.rails.solana.rpc import SolanaRpc  # noqa: E402
from sluice.rails.solana.transaction import decode_transaction  # noqa: E402
from sluice.rails.solana.watcher import ReferenceWatcher  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cluster(info: Path) -> tuple[subprocess.Popen[bytes], str, Keypair]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sluice.rails.solana.devchain", "--port", str(port), "--info-file", str(info)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
    )
    for _ in range(300):
        if info.exists():
            data = json.loads(info.read_text())["solana"]
            return proc, data["rpc_url"], Keypair.from_base58_string(data["keypairs"]["payer"]["secret_key"])
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the local Solana cluster did not start")


async def run(args: argparse.Namespace, url: str, payer: Keypair) -> dict[str, float]:
    merchants = [Keypair().pubkey() for _ in range(args.merchants)]
    intents = [
        SolanaPayment(
            intent_id=f"pi_{i}",
            network="solana-local",
            asset="USDC",
            mint=LOCAL_USDC_MINT,
            decimals=6,
            amount=1_000_000 + i,
            merchant=str(merchants[i % len(merchants)]),
            reference=os.urandom(32),
        )
        for i in range(args.open_intents)
    ]
    watcher_rpc, payer_rpc = SolanaRpc(url), SolanaRpc(url)
    watcher = ReferenceWatcher(watcher_rpc)
    watcher.watch(intents)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set() or len(latencies) < len(sent):
            for observation in await watcher.poll():
                seen = time.perf_counter()
                start = sent.get(observation.payment.intent_id)
                if start is not None:
                    latencies.append((seen - start) * 1000)
                    watcher.unwatch(observation.payment)
            await asyncio.sleep(args.poll_ms / 1000)

    rail = SolanaRail()
    started = time.perf_counter()
    watch_task = asyncio.create_task(watch())
    for payment in random.sample(intents, args.payments):
        built = await rail.build(payment, str(payer.pubkey()), rpc=payer_rpc, check_balance=False)
        tx = decode_transaction(built.transactions[0]["transaction"])
        tx.partial_sign([payer], tx.message.recent_blockhash)
        await payer_rpc.send_transaction(tx)
        sent[payment.intent_id] = time.perf_counter()
        await asyncio.sleep(1 / args.rate)
    done.set()
    await asyncio.wait_for(watch_task, timeout=60)
    elapsed = time.perf_counter() - started
    calls = sum(watcher_rpc.calls.values())
    latencies.sort()
    await watcher_rpc.aclose()
    await payer_rpc.aclose()
    return {
        "observed": len(latencies),
        "p50_ms": latencies[len(latencies) // 2],
        "p95_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
        "max_ms": latencies[-1],
        "rpc_calls": calls,
        "get_signatures_calls": watcher_rpc.calls["getSignaturesForAddress"],
        "get_transaction_calls": watcher_rpc.calls["getTransaction"],
        "elapsed_s": elapsed,
        "rpc_calls_per_s": calls / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open-intents", type=int, default=10_000)
    parser.add_argument("--merchants", type=int, default=10)
    parser.add_argument("--payments", type=int, default=100)
    parser.add_argument("--rate", type=float, default=5.0, help="payments per second")
    parser.add_argument("--poll-ms", type=int, default=200)
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, payer = start_cluster(Path(tmp) / "dev.json")
        try:
            result = asyncio.run(run(args, url, payer))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"open intents {args.open_intents}, merchants {args.merchants}, poll every {args.poll_ms} ms")
    print(f"load average before the run: {load[0]:.1f} on {os.cpu_count()} cores (latency moves with it)")
    print(f"{'payments observed':<28}{result['observed']:>10}")
    for key in ("p50_ms", "p95_ms", "max_ms"):
        print(f"{'confirm → observed ' + key[:-3]:<28}{result[key]:>10.1f} ms")
    print(f"{'watcher RPC calls':<28}{result['rpc_calls']:>10}")
    print(f"{'  getSignaturesForAddress':<28}{result['get_signatures_calls']:>10}")
    print(f"{'  getTransaction':<28}{result['get_transaction_calls']:>10}")
    print(f"{'watcher RPC calls / s':<28}{result['rpc_calls_per_s']:>10.1f}")
    print(
        json.dumps(
            {
                "solana_confirm_p95_ms": round(result["p95_ms"], 1),
                "rpc_calls_per_s": round(result["rpc_calls_per_s"], 1),
                "open_intents": args.open_intents,
                "merchants": args.merchants,
                "payments": result["observed"],
                "poll_ms": args.poll_ms,
                "load_avg": round(load[0], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
