"""Report queries over a million indexed payments: GET /v1/reports/summary and a page of
GET /v1/reports/payments, next to a plain count of the same rows as the baseline.

    .venv/bin/python benchmarks/reports.py [--rows 1000000] [--repeat 7]

In one run:
1. creates a fresh database on DATABASE_URL's server (default postgresql://postgres@127.0.0.1:5432/test)
   migrated to head; seeds with set-based SQL one merchant with --rows payment intents and one
   indexed payment event each (a mix of fee-splitting payments, escrow deposits and captures of
   USDC and ETH, spread over a year of block times), the `payment_intent.succeeded` events that
   confirmed them, and a second merchant with a tenth as many rows (isolation must not cost);
   then ANALYZE;
2. serves the real API in process (api.app.create_app, httpx ASGI transport: no network, no server
   process) and times, --repeat times each after one warm-up: the whole-history daily summary, the
   monthly summary, the first page (100 rows) of payments and a page deep in the history through
   its cursor, and the CSV page;
3. baseline: `SELECT count(*)` of the merchant's rows, the least any report over all of them reads;
4. prints a table of median and max milliseconds and, last, one JSON line with keys rows,
   summary_ms, payments_page_ms (medians) and more.
The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import structlog
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))

from sluice.config import to_asyncpg_url
from sluice.db.admin import temporary_database

SERVER = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
console = Console()

SEED = """
INSERT INTO merchants (id, name, payout_addresses, created_at)
VALUES ('acct_bench', 'Bench', '{"evm": "0xabababababababababababababababababababab"}', now()),
       ('acct_other', 'Other', '{"evm": "0xabababababababababababababababababababab"}', now());

INSERT INTO payment_intents (
    id, merchant_id, livemode, status, capture_method, rail, network, chain_id, asset, token_address,
    decimals, amount, amount_received, amount_capturable, amount_refunded, onchain_id, nonce,
    contract_address, payer, payout_address, splits, deadline, reclaim_after, allow_partial, signature,
    client_secret, metadata, expires_at, created_at, updated_at)
SELECT 'pi_' || m.tag || g,
       m.id, false, 'succeeded', CASE WHEN g %% 5 = 0 THEN 'manual' ELSE 'automatic' END,
       'evm-contract', 'local', 31337,
       CASE WHEN g %% 7 = 0 THEN 'ETH' ELSE 'USDC' END,
       CASE WHEN g %% 7 = 0 THEN NULL ELSE %(usdc)s END,
       CASE WHEN g %% 7 = 0 THEN 18 ELSE 6 END,
       CASE WHEN g %% 7 = 0 THEN 10::numeric ^ 16 ELSE 25000000 END,
       CASE WHEN g %% 7 = 0 THEN 10::numeric ^ 16 ELSE 25000000 END, 0, 0,
       decode(md5(m.tag || g::text) || md5('x' || m.tag || g::text), 'hex'), g, %(payments)s,
       '0x6666666666666666666666666666666666666666', '0xabababababababababababababababababababab',
       '[{"recipient": "0x4444444444444444444444444444444444444444", "bps": 100, "kind": "platform"}]',
       ts + interval '15 minutes', NULL, false, decode(repeat('ab', 65), 'hex'),
       'pi_' || m.tag || g || '_secret_x', '{}', ts + interval '15 minutes', ts, ts
FROM (VALUES ('acct_bench', 'b', %(rows)s), ('acct_other', 'o', %(other)s)) AS m(id, tag, n),
     LATERAL generate_series(1, m.n) AS g,
     LATERAL (SELECT timestamptz '2025-11-26' + (g::double precision / m.n) * interval '365 days' AS ts) t;

INSERT INTO ledger_entries (
    network, chain_id, rail, source, kind, intent_ref, payment_intent_id, merchant_id,
    tx_id, block_index, tx_index, height, block_id, block_time, payer, merchant, asset,
    amount, merchant_amount, fee_amounts, total, created_at)
SELECT 'local', 31337, 'evm-contract',
       %(payments)s,
       CASE WHEN pi.capture_method = 'automatic' THEN 'received'
            WHEN pi.nonce %% 2 = 0 THEN 'captured' ELSE 'escrow_deposited' END,
       pi.onchain_id, pi.id, pi.merchant_id,
       '0x' || md5(pi.id) || md5('t' || pi.id), 0, 0,
       (extract(epoch FROM pi.created_at)::bigint - 1764115200) / 2,
       '0x' || md5('b' || pi.id) || md5(pi.id), pi.created_at + interval '30 seconds',
       pi.payer, pi.payout_address, pi.token_address, pi.amount,
       CASE WHEN pi.capture_method = 'manual' AND pi.nonce %% 2 = 1 THEN NULL
            ELSE pi.amount - div(pi.amount, 100) END,
       CASE WHEN pi.capture_method = 'manual' AND pi.nonce %% 2 = 1 THEN NULL
            ELSE jsonb_build_array(jsonb_build_object(
                'recipient', '0x4444444444444444444444444444444444444444',
                'amount', div(pi.amount, 100)::text))
       END,
       NULL, now()
FROM payment_intents pi;

INSERT INTO events (id, merchant_id, livemode, type, object_id, data, created_at)
SELECT 'evt_' || pi.id, pi.merchant_id, false, 'payment_intent.succeeded', pi.id, '{}',
       pi.created_at + interval '32 seconds'
FROM payment_intents pi;

INSERT INTO indexer_state (network, chain_id, last_block, last_hash, head_block, confirmed_block, updated_at)
VALUES ('local', 31337, 20000000, NULL, 20000000, 20000000, now());
"""


def seed(url: str, rows: int) -> float:
    from eth_utils import to_checksum_address

    from intents_fixtures import PAYMENTS, USDC_LOCAL

    started = time.perf_counter()
    params = {
        "rows": rows,
        "other": max(1, rows // 10),
        "usdc": to_checksum_address(USDC_LOCAL),
        "payments": to_checksum_address(PAYMENTS),
    }
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for statement in SEED.split(";\n\n"):
            conn.execute(statement, params)  # type: ignore[arg-type]
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


async def measure(url: str, repeat: int) -> dict[str, list[float]]:
    from api.app import create_app
    from sluice.merchants.service import merchant_service
    from sluice.models.merchant import ApiKeyKind, Mode

    from intents_fixtures import make_registry, make_settings

    app = create_app(make_settings(url), database_url=to_asyncpg_url(url), registry=make_registry())
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))  # quiet
    async with app.router.lifespan_context(app):
        async with app.state.sessions() as session, session.begin():
            key = (
                await merchant_service.issue_key(session, "acct_bench", ApiKeyKind.secret, Mode.test)
            ).secret
        headers = {"Authorization": f"Bearer {key}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client:
            first = (await client.get("/v1/reports/payments", params={"limit": 100}, headers=headers)).json()
            deep_cursor = await _deep_cursor(url)
            cases: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
                "summary (day, all history)": ("/v1/reports/summary", {"interval": "day"}, {}),
                "summary (month, all history)": ("/v1/reports/summary", {"interval": "month"}, {}),
                "payments page (first 100)": ("/v1/reports/payments", {"limit": 100}, {}),
                "payments page (deep cursor)": (
                    "/v1/reports/payments",
                    {"limit": 100, "starting_after": deep_cursor},
                    {},
                ),
                "payments page (CSV, 100)": ("/v1/reports/payments", {"limit": 100}, {"Accept": "text/csv"}),
                "balances": ("/v1/reports/balances", {}, {}),
            }
            assert len(first["data"]) == 100, first
            timings: dict[str, list[float]] = {}
            for name, (path, params, extra) in cases.items():
                samples = []
                for attempt in range(repeat + 1):
                    started = time.perf_counter()
                    response = await client.get(path, params=params, headers={**headers, **extra})
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code != 200:
                        raise SystemExit(f"{name}: HTTP {response.status_code} {response.text[:300]}")
                    if attempt:
                        samples.append(elapsed)
                timings[name] = samples
    timings["baseline: count(*) of the merchant's rows"] = _baseline(url, repeat)
    return timings


async def _deep_cursor(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT id FROM ledger_entries WHERE merchant_id = 'acct_bench' "
            "ORDER BY block_time DESC, id DESC "
            "OFFSET (SELECT count(*) * 3 / 4 FROM ledger_entries WHERE merchant_id = 'acct_bench') LIMIT 1"
        ).fetchone()
    assert row is not None
    return f"oce_{row[0]}"


def _baseline(url: str, repeat: int) -> list[float]:
    samples = []
    with psycopg.connect(url) as conn:
        for attempt in range(repeat + 1):
            started = time.perf_counter()
            conn.execute("SELECT count(*) FROM ledger_entries WHERE merchant_id = 'acct_bench'").fetchone()
            if attempt:
                samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--database",
        help="use (and keep) this migrated database; seeded only when it has no payments yet",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.database or stack.enter_context(temporary_database(SERVER, "sluice_bench_reports"))
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM ledger_entries WHERE merchant_id = 'acct_bench'"
            ).fetchone()
        if row and row[0]:
            args.rows = int(row[0])
            console.print(f"using the {args.rows:,} payments already in the database")
        else:
            console.print(
                f"seeding {args.rows:,} payments (+{max(1, args.rows // 10):,} of another merchant)…"
            )
            seconds = seed(url, args.rows)
            console.print(f"seeded in {seconds:.1f} s (the rollup triggers included)")
        timings = asyncio.run(measure(url, args.repeat))
    table = Table(title=f"reports over {args.rows:,} payments (ms, {args.repeat} runs after a warm-up)")
    table.add_column("query")
    table.add_column("median", justify="right")
    table.add_column("max", justify="right")
    for name, samples in timings.items():
        table.add_row(name, f"{statistics.median(samples):.1f}", f"{max(samples):.1f}")
    console.print(table)
    med = {name: round(statistics.median(samples), 1) for name, samples in timings.items()}
    print(
        json.dumps(
            {
                "rows": args.rows,
                "summary_ms": med["summary (day, all history)"],
                "summary_month_ms": med["summary (month, all history)"],
                "payments_page_ms": med["payments page (first 100)"],
                "payments_deep_page_ms": med["payments page (deep cursor)"],
                "payments_csv_page_ms": med["payments page (CSV, 100)"],
                "balances_ms": med["balances"],
                "baseline_count_ms": med["baseline: count(*) of the merchant's rows"],
            }
        )
    )


if __name__ == "__main__":
    main()
