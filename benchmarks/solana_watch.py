"""Latency from a Solana payment's confirmation to its intent's `processing`, with 10,000 open
intents, and the RPC calls per second the rail's watcher makes.

    .venv/bin/python benchmarks/solana_watch.py [--open-intents 10000] [--merchants 10]
        [--payments 100] [--rate 5] [--poll-ms 200] [--no-db]

1. starts the local Solana cluster (LiteSVM behind its JSON-RPC, `python -m
   sluice.rails.solana.devchain`) in its own process on a free 127.0.0.1 port;
2. opens --open-intents USDC intents spread over --merchants merchants (random references) and
   watches them with `ReferenceWatcher` (one getSignaturesForAddress per merchant token account per
   poll, one getTransaction per new transaction; references matched in memory), polling every
   --poll-ms;
3. with the database (default): a fresh PostgreSQL database on DATABASE_URL's server (default
   127.0.0.1:5432, as the tests), migrated; the --payments intents that get paid are created through
   the API (in process, `solana-local` with the Solana rail registered) for one merchant, the
   others are open in the watcher only; each poll's entries are stored by the indexer's
   `index_batch` in one transaction, and a payment counts when the transaction that made its intent
   `processing` (or already `succeeded`: the local cluster finalizes two slots later) has committed.
   With --no-db, when the poll observes it;
4. a payer pays --payments random intents at --rate per second, each through the rail (build over
   RPC, sign as returned, sendTransaction). The local cluster confirms a transaction when
   sendTransaction returns: the latency runs from that return;
5. prints a table and, as the very last line, one JSON object with `solana_confirm_p95_ms`,
   `rpc_calls_per_s` (the watcher's calls only, over the whole run) and `open_intents`.

Only 127.0.0.1 is contacted. Takes about --payments / --rate + 10 seconds.
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
from types import SimpleNamespace

import asyncpg
import httpx
from solders.keypair import Keypair

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"

from indexer.batch import BatchTarget, index_batch  # noqa: E402
from sluice.db.admin import temporary_database  # noqa: E402
from sluice.rails.registry import Rails  # noqa: E402
from sluice.rails.solana.networks import LOCAL_USDC_MINT, network_configs  # noqa: E402
from sluice.rails.solana.payment import SolanaPayment, payment_from_intent  # noqa: E402
from sluice.rails.solana.rail import SolanaRail  # noqa: E402
from sluice.rails.solana.rpc import SolanaRpc  # noqa: E402
from sluice.rails.solana.transaction import decode_transaction  # noqa: E402
from sluice.rails.solana.watcher import Observation, ReferenceWatcher  # noqa: E402


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


async def api_intents(db_url: str, rpc_url: str, count: int) -> list[SolanaPayment]:
    """`count` USDC intents created through the API for one merchant paid on Solana."""
    os.environ["SLUICE_RPC_URL_SOLANA_LOCAL"] = rpc_url
    sys.path.insert(0, str(ROOT / "tests" / "api"))
    from api.app import create_app
    from sluice.chain.registry import Registry
    from sluice.config import to_asyncpg_url
    from sluice.db.session import make_engine, make_sessionmaker
    from sluice.merchants.service import merchant_service
    from sluice.models.merchant import ApiKeyKind, Mode

    from intents_fixtures import auth, make_registry, make_settings

    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    async with make_sessionmaker(engine)() as session, session.begin():
        merchant = await merchant_service.create(
            session,
            "Solana benchmark shop",
            payout_addresses={"solana": str(Keypair().pubkey())},
            rails=Rails([SolanaRail()]),
        )
        key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
    await engine.dispose()
    settings = make_settings(db_url, platform_fee_bps=0)
    registry = Registry({**{n.name: n for n in make_registry()}, **network_configs()})
    app = create_app(settings, database_url=to_asyncpg_url(db_url), registry=registry)
    ids = []
    async with app.router.lifespan_context(app):
        app.state.intents.rails.add(SolanaRail())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for i in range(count):
                body = {"network": "solana-local", "asset": "USDC", "amount": str(1_000_000 + i)}
                answer = await client.post("/v1/payment_intents", json=body, headers=auth(key.secret))
                answer.raise_for_status()
                ids.append(answer.json()["id"])
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT * FROM payment_intents WHERE id = ANY($1::text[])", ids)
    finally:
        await conn.close()
    return [payment_from_intent(SimpleNamespace(**dict(r))) for r in rows]


async def run(args: argparse.Namespace, url: str, payer: Keypair, db_url: str | None) -> dict[str, float]:
    merchants = [Keypair().pubkey() for _ in range(args.merchants)]
    paid = await api_intents(db_url, url, args.payments) if db_url else []
    intents = paid + [
        SolanaPayment(
            intent_id=f"pi_mem_{i}",
            network="solana-local",
            asset="USDC",
            mint=LOCAL_USDC_MINT,
            decimals=6,
            amount=1_000_000 + i,
            merchant=str(merchants[i % len(merchants)]),
            reference=os.urandom(32),
        )
        for i in range(args.open_intents - len(paid))
    ]
    to_pay = paid or random.sample(intents, args.payments)
    watcher_rpc, payer_rpc = SolanaRpc(url), SolanaRpc(url)
    watcher = ReferenceWatcher(watcher_rpc)
    watcher.watch(intents)
    rail = SolanaRail()
    conn = await asyncpg.connect(db_url) if db_url else None
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    async def store(observations: list[Observation]) -> list[str]:
        """Index the entries as the indexer does; the intents that became processing."""
        if conn is None:
            return [o.payment.intent_id for o in observations]
        entries = rail.decode("solana-local", observations)
        target = BatchTarget("solana-local", 0, await watcher_rpc.slot("finalized"), "http://127.0.0.1")
        async with conn.transaction():
            events = await index_batch(conn, target, entries, {})
        # On the local cluster a payment can already be final when first stored (finalized lags two
        # slots, not ~13 s): it then goes straight to succeeded, which counts the same here.
        moved = ("payment_intent.processing", "payment_intent.succeeded")
        return [str(e.object_id) for e in events if e.type in moved]

    async def watch() -> None:
        while not done.is_set() or len(latencies) < len(sent):
            observations = await watcher.poll()
            for intent_id in await store(observations):
                start = sent.get(intent_id)
                if start is not None:
                    latencies.append((time.perf_counter() - start) * 1000)
            for observation in observations:
                watcher.unwatch(observation.payment)
            await asyncio.sleep(args.poll_ms / 1000)

    started = time.perf_counter()
    watch_task = asyncio.create_task(watch())
    for payment in to_pay:
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
    if conn is not None:
        await conn.close()
    return {
        "observed": len(latencies),
        "p50_ms": latencies[len(latencies) // 2],
        "p95_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
        "max_ms": latencies[-1],
        "rpc_calls": calls,
        "get_signatures_calls": watcher_rpc.calls["getSignaturesForAddress"],
        "get_transaction_calls": watcher_rpc.calls["getTransaction"],
        "get_slot_calls": watcher_rpc.calls["getSlot"],
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
    parser.add_argument("--no-db", action="store_true", help="stop at observation (no PostgreSQL)")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url, payer = start_cluster(Path(tmp) / "dev.json")
        try:
            if args.no_db:
                result = asyncio.run(run(args, url, payer, None))
            else:
                with temporary_database(SERVER_URL, "sluice_bench_solana") as db_url:
                    result = asyncio.run(run(args, url, payer, db_url))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    until = "observed (--no-db)" if args.no_db else "processing committed by index_batch"
    print(f"open intents {args.open_intents}, merchants {args.merchants}, poll every {args.poll_ms} ms")
    print(f"latency: sendTransaction returned → {until}")
    print(f"load average before the run: {load[0]:.1f} on {os.cpu_count()} cores (latency moves with it)")
    print(f"{'payments observed':<28}{result['observed']:>10}")
    for key in ("p50_ms", "p95_ms", "max_ms"):
        print(f"{'confirm → processing ' + key[:-3]:<28}{result[key]:>10.1f} ms")
    print(f"{'watcher RPC calls':<28}{result['rpc_calls']:>10}")
    print(f"{'  getSignaturesForAddress':<28}{result['get_signatures_calls']:>10}")
    print(f"{'  getTransaction':<28}{result['get_transaction_calls']:>10}")
    print(f"{'  getSlot':<28}{result['get_slot_calls']:>10}")
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
                "until": "observed" if args.no_db else "processing",
                "load_avg": round(load[0], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
