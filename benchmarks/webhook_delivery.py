"""Webhook delivery throughput: N events through the real worker to a local receiver, exactly once.

    .venv/bin/python benchmarks/webhook_delivery.py [--events 10000] [--workers 1] [--concurrency 64]

In one run on this machine:

1. creates a fresh PostgreSQL database on DATABASE_URL's server (default
   postgresql://postgres@127.0.0.1:5432/test), migrated to head, with one merchant and one webhook
   endpoint pointing at the receiver;
2. starts the receiver in its own process: an aiohttp server on a free 127.0.0.1 port that verifies
   nothing but counts every request by its `webhook-id` and answers 200 at once;
3. records N events in the outbox (as the API and the indexer do: `record_events`, 1,000 per
   transaction), then starts --workers worker processes (`sluice.webhooks.worker.run_worker`, the
   code `sluice worker` runs, scheduled jobs off), and times from their start until every delivery
   is `succeeded` in the database: fan-out, signing, HTTP, the attempt log, all included;
4. asks the receiver for its counts and checks them against the event ids: `received_once` is how
   many events arrived exactly once, `lost` how many never arrived, `duplicated` how many arrived
   more than once;
5. prints a table, and as the very last line one JSON object with the keys deliveries_per_s, sent,
   received_once, lost, duplicated.

The database is dropped and the processes stopped at the end, also on errors and Ctrl-C. Only
127.0.0.1 is contacted. The receiver, the workers and PostgreSQL share this machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from sluice.config import Settings, to_asyncpg_url
from sluice.db.admin import temporary_database
from sluice.db.session import make_engine, make_sessionmaker
from sluice.events.outbox import NewEvent
from sluice.events.service import record_events
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode
from sluice.models.webhook import WebhookAttempt, WebhookDelivery

SERVER_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
SECRET_KEY = "22" * 32  # the benchmark's own AES key for webhook secrets
console = Console(stderr=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------- receiver


def run_receiver(port: int) -> None:
    from aiohttp import web

    counts: Counter[str] = Counter()

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        counts[request.headers.get("webhook-id", "")] += 1
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    app = web.Application()
    app.router.add_post("/hooks", hook)
    app.router.add_get("/stats", stats)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, handle_signals=True)


# ------------------------------------------------------------------------------------- worker


def bench_settings(db_url: str, concurrency: int) -> Settings:
    return Settings(  # type: ignore[call-arg]
        env="test",
        database_url=db_url,
        webhook_allow_private=True,
        webhook_secret_key=SECRET_KEY,
        webhook_concurrency=concurrency,
        db_pool_size=5,
        _env_file=None,
    )


def run_worker_process(db_url: str, concurrency: int, stop_file: str) -> None:
    from sluice.webhooks.worker import run_worker

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass

    async def main() -> None:
        stop = asyncio.Event()

        async def watch() -> None:
            while not os.path.exists(stop_file):
                await asyncio.sleep(0.1)
            stop.set()

        watcher = asyncio.create_task(watch())
        await run_worker(bench_settings(db_url, concurrency), stop, scheduled_jobs=False)
        watcher.cancel()

    if os.environ.get("BENCH_PROFILE"):  # a cProfile of the worker, for finding hot spots
        import cProfile

        cProfile.runctx("asyncio.run(main())", globals(), locals(), f"/tmp/webhook-worker-{os.getpid()}.prof")
    else:
        asyncio.run(main())


# --------------------------------------------------------------------------------------- main


async def prepare(db_url: str, receiver_url: str, n: int, concurrency: int) -> tuple[list[str], Any]:
    from sluice.webhooks.service import WebhookEndpointService

    engine = make_engine(to_asyncpg_url(db_url), pool_size=2)
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        merchant = await merchant_service.create(s, "Bench", "0x" + "ab" * 20)
        key = await merchant_service.issue_key(s, merchant.id, ApiKeyKind.secret, Mode.test)
        principal = await merchant_service.authenticate(s, key.secret)
        await WebhookEndpointService(bench_settings(db_url, concurrency)).create(
            s, principal, url=receiver_url, enabled_events=["*"]
        )
    ids: list[str] = []
    for start in range(0, n, 1000):
        batch = [
            NewEvent(
                merchant_id=merchant.id,
                livemode=False,
                type="payment_intent.succeeded",
                object_id=f"pi_bench{i}",
                object={"id": f"pi_bench{i}", "object": "payment_intent", "amount": "25000000"},
            )
            for i in range(start, min(n, start + 1000))
        ]
        async with sessions() as s, s.begin():
            ids += await record_events(s, batch)
    return ids, engine


async def succeeded(engine: Any) -> int:
    sessions = make_sessionmaker(engine)
    async with sessions() as s:
        count = await s.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status == "succeeded")
        )
        return int(count or 0)


async def failed_attempts(db_url: str) -> tuple[int, str]:
    """Attempts that did not succeed, and the most common error among them."""
    engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as s:
            rows = (
                await s.execute(
                    select(WebhookAttempt.error, func.count())
                    .where(WebhookAttempt.error.is_not(None))
                    .group_by(WebhookAttempt.error)
                    .order_by(func.count().desc())
                )
            ).all()
    finally:
        await engine.dispose()
    return sum(int(r[1]) for r in rows), (rows[0][0] or "")[:80] if rows else "-"


async def receiver_counts(port: int) -> dict[str, int]:
    import httpx

    async with httpx.AsyncClient() as client:
        counts: dict[str, int] = (await client.get(f"http://127.0.0.1:{port}/stats")).json()
        return counts


async def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("the receiver did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=64, help="deliveries in flight per worker")
    parser.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    args = parser.parse_args()

    ctx = multiprocessing.get_context("spawn")
    port = free_port()
    receiver = ctx.Process(target=run_receiver, args=(port,), daemon=True)
    receiver.start()
    workers: list[Any] = []
    stop_file = f"/tmp/sluice-bench-webhooks-{os.getpid()}.stop"
    try:
        with temporary_database(SERVER_URL, "sluice_bench") as db_url:
            asyncio.run(wait_for_port(port))
            console.print(f"recording {args.events} events …")
            ids, engine = asyncio.run(
                prepare(db_url, f"http://127.0.0.1:{port}/hooks", args.events, args.concurrency)
            )
            asyncio.run(engine.dispose())
            load = os.getloadavg()[0]
            started = time.perf_counter()
            for _ in range(args.workers):
                p = ctx.Process(target=run_worker_process, args=(db_url, args.concurrency, stop_file))
                p.start()
                workers.append(p)

            async def wait_done() -> tuple[float, int]:
                engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
                try:
                    done = 0
                    while time.perf_counter() - started < args.timeout:
                        done = await succeeded(engine)
                        if done >= len(ids):
                            break
                        await asyncio.sleep(0.1)
                    return time.perf_counter() - started, done
                finally:
                    await engine.dispose()

            elapsed, done = asyncio.run(wait_done())
            Path(stop_file).touch()
            for p in workers:
                p.join(30)
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, joined; not the receiver
            worker_cpu = usage.ru_utime + usage.ru_stime
            counts = asyncio.run(receiver_counts(port))
            failures, top_error = asyncio.run(failed_attempts(db_url))
    finally:
        Path(stop_file).unlink(missing_ok=True)
        for p in workers:
            if p.is_alive():
                p.kill()
        receiver.kill()

    received_once = sum(1 for i in ids if counts.get(i, 0) == 1)
    lost = sum(1 for i in ids if counts.get(i, 0) == 0)
    duplicated = sum(1 for i in ids if counts.get(i, 0) > 1)
    foreign = sum(v for k, v in counts.items() if k not in set(ids))
    rate = done / elapsed if elapsed else 0.0
    table = Table(title=f"webhook delivery: {len(ids)} events, {args.workers} worker(s) × {args.concurrency}")
    for col in ("metric", "value"):
        table.add_column(col)
    for name, value in (
        ("deliveries succeeded", f"{done}"),
        ("elapsed (s)", f"{elapsed:.2f}"),
        ("deliveries/s", f"{rate:.0f}"),
        ("received exactly once", f"{received_once}"),
        ("lost", f"{lost}"),
        ("duplicated", f"{duplicated}"),
        ("requests under unknown ids", f"{foreign}"),
        ("failed attempts (retried)", f"{failures}"),
        ("most common error", top_error),
        ("worker CPU ms per delivery", f"{worker_cpu * 1000 / max(done, 1):.2f}"),
        ("load average before the run", f"{load:.2f}"),
    ):
        table.add_row(name, value)
    Console().print(table)
    print(
        json.dumps(
            {
                "deliveries_per_s": round(rate, 1),
                "sent": done,
                "received_once": received_once,
                "lost": lost,
                "duplicated": duplicated,
            }
        )
    )


if __name__ == "__main__":
    main()
