"""Throughput and latency of `POST /v1/payment_intents`, next to a bare FastAPI + asyncpg INSERT.

    .venv/bin/python benchmarks/api_create_intent.py [--workers 1|2] [--connections 32]
        [--duration 15] [--warmup 3] [--threads 2] [--loadgen auto|wrk|python]

In one run on this machine:

1. creates a fresh PostgreSQL database on DATABASE_URL's server (as tests/databases.py does;
   default postgresql://postgres@127.0.0.1:5432/test) and migrates it to head, then creates a
   merchant with a payout address and a secret test key, and the baseline's own table;
2. starts the real API (benchmarks/bench_sluice_app.py: api.app.create_app with a 'local' network
   whose contracts need no chain, env=test, an operator key, a rate limit that never throttles)
   under uvicorn (uvloop, httptools, no access log) on a free 127.0.0.1 port, loads it, stops it;
3. the same for benchmarks/bench_bare_app.py: same route, body and Bearer header, one INSERT of an
   intent-sized row with asyncpg, same uvicorn setup and workers;
4. the load: `wrk` (installed with apt-get when missing and running as root) with a Lua script that
   counts non-2xx answers, else an asyncio + aiohttp generator in a separate process; a warm-up of
   --warmup seconds that is discarded, then --duration seconds with --connections connections kept
   busy (closed loop: each sends its next request when the previous one is answered);
5. prints a table (req/s, p50/p90/p99/max latency, errors, server CPU per request) and, as the very
   last line, one JSON object.

The database is dropped and the servers stopped at the end, also on errors, Ctrl-C or SIGTERM. Only
127.0.0.1 is ever contacted. With the defaults the whole run takes about 50 s (< 2 minutes).

Two workers by default: on 2 cores, with wrk and PostgreSQL on the same cores, they served ~1.7x
the intents of one worker (one uvicorn process is CPU-bound at 100% of a core), and more for the
bare endpoint too.

Latencies are wrk's (from writing a request to reading its answer, per connection). wrk and
PostgreSQL share the cores with the servers, as they would not in production, and so does anything
else running on the machine (the load average before the run is printed): req/s moves with that,
"server CPU ms/req" (user + system time of the uvicorn processes per answered request) much less,
and the ratio to the bare endpoint least.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from bench_bare_app import CREATE_TABLE  # noqa: E402

from sluice.config import to_asyncpg_url  # noqa: E402
from sluice.db.admin import temporary_database  # noqa: E402

SERVER_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
PATH = "/v1/payment_intents"
BODY = {"network": "local", "asset": "USDC", "amount": "25000000"}
PAYOUT_ADDRESS = "0x" + "ab" * 20
#: Hard bound on the whole run, whatever the options (the brief: under 2 minutes).
RUN_BUDGET_S = 115.0

console = Console(stderr=True)


# ----------------------------------------------------------------------------- database


@contextlib.contextmanager
def benchmark_database() -> Iterator[str]:
    """A fresh `sluice_bench_<random>` database migrated to head (plain URL), dropped afterwards."""
    with temporary_database(SERVER_URL, "sluice_bench") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(CREATE_TABLE)
        yield url


async def _merchant_with_key(url: str) -> str:
    from sluice.db.session import make_engine, make_sessionmaker
    from sluice.merchants.service import merchant_service
    from sluice.models.merchant import ApiKeyKind, Mode

    engine = make_engine(to_asyncpg_url(url), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            merchant = await merchant_service.create(session, "Benchmark Merchant", PAYOUT_ADDRESS)
            issued = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
        return issued.secret
    finally:
        await engine.dispose()


def count_rows(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


# ------------------------------------------------------------------------------ servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to the server's process group (uvicorn and its workers), SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@contextlib.contextmanager
def uvicorn_server(name: str, factory: str, url: str, workers: int, logdir: Path) -> Iterator[Server]:
    """`uvicorn --factory <factory>` on a free 127.0.0.1 port, stopped on leaving."""
    port = free_port()
    log = logdir / f"{name}.log"
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": url,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable, "-m", "uvicorn", factory, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, process, port, log)
    try:
        _wait_ready(server, timeout=30)
        yield server
    finally:
        server.stop()


def tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and all its descendants (Linux /proc), else None."""
    try:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    # Fields after the command name, which may hold spaces: state, ppid, …
                    fields = (entry / "stat").read_text().rpartition(")")[2].split()
                    stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    except OSError:
        return None
    if pid not in stats:
        return None
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += stats[current][1]
        pending.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total / os.sysconf("SC_CLK_TCK")


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} server exited:\n{server.log_tail()}")
        try:
            if httpx.get(server.base_url + "/health", timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} server not ready after {timeout} s:\n{server.log_tail()}")


def smoke_test(server: Server, api_key: str) -> dict[str, Any]:
    """One request before the load, so a broken setup fails loudly rather than as 100% errors."""
    response = httpx.post(
        server.base_url + PATH,
        json=BODY,
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
        trust_env=False,  # never through an HTTP(S)_PROXY: only 127.0.0.1 is contacted
    )
    if not 200 <= response.status_code < 300:
        raise RuntimeError(
            f"{server.name}: POST {PATH} answered {response.status_code}: {response.text[:500]}\n"
            f"{server.log_tail()}"
        )
    answer: dict[str, Any] = response.json()
    if not str(answer.get("id", "")).startswith("pi_"):
        raise RuntimeError(f"{server.name}: unexpected answer {answer!r}")
    return answer


# ------------------------------------------------------------------------- load (wrk)

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '%(body)s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  first_bad = ""
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local bad, sample = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + t:get("non2xx")
    local s = t:get("first_bad")
    if sample == "" and s ~= nil then sample = s end
  end
  io.write(string.format(
    "BENCH_JSON {\\"requests\\":%%d,\\"duration_us\\":%%d,\\"non2xx\\":%%d,\\"connect\\":%%d,"
    .. "\\"read\\":%%d,\\"write\\":%%d,\\"timeout\\":%%d,\\"p50_us\\":%%d,\\"p90_us\\":%%d,"
    .. "\\"p99_us\\":%%d,\\"max_us\\":%%d,\\"mean_us\\":%%.1f}\\n",
    summary.requests, summary.duration, bad, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
  io.write("BENCH_SAMPLE " .. sample .. "\\n")
end
"""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int  # non-2xx answers plus socket errors and timeouts
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    error_sample: str = ""
    #: CPU time the server's processes used per answered request, in ms (None where unknown).
    server_cpu_ms: float | None = None

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str | None:
    """wrk's path; installs the Debian package when missing and running as root."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    console.print("[dim]wrk missing: apt-get install -y wrk[/dim]")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"]):
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(step, env=env, capture_output=True, timeout=60, check=False)
        if found := shutil.which("wrk"):
            return found
    with contextlib.suppress(subprocess.SubprocessError, OSError):  # after the update
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, capture_output=True, timeout=60)
    return shutil.which("wrk")


def run_wrk(
    wrk: str, url: str, api_key: str, *, seconds: int, connections: int, threads: int, tmp: Path
) -> LoadResult:
    script = tmp / "create_intent.lua"
    script.write_text(WRK_SCRIPT % {"body": json.dumps(BODY, separators=(",", ":")), "key": api_key})
    command = [
        wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s",
        "-s", str(script), url + PATH,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    sample = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_SAMPLE ")), "")
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        # wrk counts a timed-out request in `requests` too; socket errors are not answers at all.
        errors=data["non2xx"] + data["connect"] + data["read"] + data["write"] + data["timeout"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        error_sample=sample.removeprefix("BENCH_SAMPLE ").strip(),
    )


# ------------------------------------------------------------- load (Python fallback)


async def _python_load(url: str, api_key: str, seconds: float, connections: int) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    sample = ""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    payload = json.dumps(BODY).encode()
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        stop_at = started + seconds

        async def one_connection() -> None:
            nonlocal errors, sample
            while time.perf_counter() < stop_at:
                sent = time.perf_counter()
                try:
                    async with session.post(url + PATH, data=payload, headers=headers) as response:
                        body = await response.read()
                        if not 200 <= response.status < 300:
                            errors += 1
                            sample = sample or f"{response.status} {body[:200]!r}"
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors += 1
                    sample = sample or repr(exc)
                latencies.append(time.perf_counter() - sent)

        await asyncio.gather(*(one_connection() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "errors": errors,
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": latencies[-1] * 1000 if latencies else 0,
        "error_sample": sample,
    }


def run_python_load(url: str, api_key: str, *, seconds: int, connections: int) -> LoadResult:
    """The fallback generator, in a process of its own (uvloop if present), so it does not share
    an event loop or a GIL with this script."""
    command = [
        sys.executable, __file__, "--_loadgen", url, "--duration", str(seconds),
        "--connections", str(connections),
    ]  # fmt: skip
    env = {**os.environ, "BENCH_API_KEY": api_key}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=seconds + 30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return LoadResult(**json.loads(done.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------------- run


@dataclass
class Options:
    workers: int
    connections: int
    duration: int
    warmup: int
    threads: int
    loadgen: str


def load(server: Server, api_key: str, opts: Options, wrk: str | None, tmp: Path) -> LoadResult:
    def once(seconds: int) -> LoadResult:
        if wrk is not None:
            return run_wrk(
                wrk, server.base_url, api_key,
                seconds=seconds, connections=opts.connections, threads=opts.threads, tmp=tmp,
            )  # fmt: skip
        return run_python_load(server.base_url, api_key, seconds=seconds, connections=opts.connections)

    smoke_test(server, api_key)
    if opts.warmup > 0:
        once(opts.warmup)
    cpu_before = tree_cpu_seconds(server.process.pid)
    result = once(opts.duration)
    cpu_after = tree_cpu_seconds(server.process.pid)
    if server.process.poll() is not None:
        raise RuntimeError(f"{server.name} server died under load:\n{server.log_tail()}")
    if cpu_before is not None and cpu_after is not None and result.requests:
        result.server_cpu_ms = (cpu_after - cpu_before) * 1000 / result.requests
    return result


def report(
    opts: Options,
    loadgen: str,
    sluice: LoadResult,
    bare: LoadResult,
    *,
    load_before: float,
    ecc_backend: str,
) -> dict[str, Any]:
    ratio = sluice.per_s / bare.per_s if bare.per_s else 0.0
    table = Table(
        title=(
            f"POST {PATH}: {opts.connections} connections, {opts.duration:g} s after {opts.warmup:g} s "
            f"warm-up, uvicorn × {opts.workers} worker(s), load by {loadgen}"
        )
    )
    table.add_column("endpoint")
    columns = ("requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors", "server CPU ms/req")
    for column in columns:
        table.add_column(column, justify="right")
    for name, r in (("sluice create intent", sluice), ("bare FastAPI + asyncpg INSERT", bare)):
        table.add_row(
            name,
            f"{r.requests:,}",
            f"{r.per_s:,.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p90_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.max_ms:.1f}",
            f"[red]{r.errors:,}[/red]" if r.errors else "0",
            "?" if r.server_cpu_ms is None else f"{r.server_cpu_ms:.2f}",
        )
    table.add_row("ratio sluice / bare", "", f"{ratio:.2f}×", *[""] * (len(columns) - 2))
    out = Console(width=None if sys.stdout.isatty() else 140)  # a whole table in logs and pipes too
    out.print(table)
    out.print(
        f"machine: {os.cpu_count()} CPUs, load average {load_before:.2f} before the run "
        f"(other processes compete with server, PostgreSQL and wrk); secp256k1 backend: {ecc_backend}"
    )
    for name, r in (("sluice", sluice), ("bare", bare)):
        if r.errors:
            out.print(f"[red]{name}: {r.errors} errors, e.g. {r.error_sample}[/red]")
    goal = sluice.per_s >= 1000 and sluice.p99_ms < 100 and ratio >= 0.5
    out.print(
        f"goal (≥ 1,000 intents/s, p99 < 100 ms, ≥ 0.5× bare): "
        f"{'[green]met[/green]' if goal else '[yellow]not met[/yellow]'}"
    )
    return {
        "intents_per_s": round(sluice.per_s, 1),
        "p50_ms": round(sluice.p50_ms, 2),
        "p99_ms": round(sluice.p99_ms, 2),
        "errors": sluice.errors,
        "bare_per_s": round(bare.per_s, 1),
        "bare_p50_ms": round(bare.p50_ms, 2),
        "bare_p99_ms": round(bare.p99_ms, 2),
        "bare_errors": bare.errors,
        "ratio_to_bare": round(ratio, 3),
        "server_cpu_ms_per_req": _round(sluice.server_cpu_ms),
        "bare_server_cpu_ms_per_req": _round(bare.server_cpu_ms),
        "concurrency": opts.connections,
        "duration_s": opts.duration,
        "warmup_s": opts.warmup,
        "workers": opts.workers,
        "loadgen": loadgen,
        "loadavg_1m_before": round(load_before, 2),
        "ecc_backend": ecc_backend,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def ecc_backend_name() -> str:
    """The secp256k1 backend eth-keys picks in this environment (and so in the servers): coincurve
    (libsecp256k1) signs in microseconds, the pure-Python fallback in milliseconds."""
    from eth_keys.backends import get_backend_class

    return get_backend_class().__name__


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def main(opts: Options) -> int:
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    budget = 2 * (opts.duration + opts.warmup) + 45
    if budget > RUN_BUDGET_S:
        raise SystemExit(f"--duration/--warmup too long for the {RUN_BUDGET_S:.0f} s run budget")
    wrk = ensure_wrk() if opts.loadgen in ("auto", "wrk") else None
    if opts.loadgen == "wrk" and wrk is None:
        raise SystemExit("wrk not found (and not installable here)")
    loadgen = f"wrk -t{opts.threads}" if wrk else "python asyncio+aiohttp"

    # SIGTERM (e.g. from a timeout) unwinds like Ctrl-C, so the finally blocks run; and a watchdog:
    # nothing may keep the run going past the budget.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGALRM, _interrupt)
    signal.alarm(int(RUN_BUDGET_S))

    with tempfile.TemporaryDirectory(prefix="sluice-bench-") as tmpdir, benchmark_database() as url:
        tmp = Path(tmpdir)
        api_key = asyncio.run(_merchant_with_key(url))
        console.print(f"[dim]database ready in {time.monotonic() - started:.1f} s; loading the API[/dim]")
        with uvicorn_server("sluice", "bench_sluice_app:create", url, opts.workers, tmp) as server:
            sluice = load(server, api_key, opts, wrk, tmp)
        console.print("[dim]loading the bare endpoint[/dim]")
        with uvicorn_server("bare", "bench_bare_app:create", url, opts.workers, tmp) as server:
            bare = load(server, api_key, opts, wrk, tmp)
        stored = count_rows(url, "payment_intents")
        if stored < sluice.requests - sluice.errors:
            raise RuntimeError(f"only {stored} intents stored for {sluice.requests} answered requests")
    signal.alarm(0)
    summary = report(opts, loadgen, sluice, bare, load_before=load_before, ecc_backend=ecc_backend_name())
    console.print(f"[dim]whole run {time.monotonic() - started:.1f} s[/dim]")
    print(json.dumps(summary), flush=True)
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2), help="uvicorn workers (2)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (32)")
    parser.add_argument("--duration", type=int, default=15, help="measured seconds (15)")
    parser.add_argument("--warmup", type=int, default=3, help="discarded warm-up seconds (3)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--_loadgen", metavar="URL", help=argparse.SUPPRESS)  # the fallback's process
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    if args._loadgen:
        coro = _python_load(args._loadgen, os.environ["BENCH_API_KEY"], args.duration, args.connections)
        try:
            import uvloop
        except ImportError:
            result = asyncio.run(coro)
        else:
            result = uvloop.run(coro)
        print(json.dumps(result))
        raise SystemExit(0)
    options = Options(args.workers, args.connections, args.duration, args.warmup, args.threads, args.loadgen)
    try:
        raise SystemExit(main(options))
    except KeyboardInterrupt as stop:
        console.print(f"[red]interrupted ({stop or 'Ctrl-C'}): servers stopped, database dropped[/red]")
        raise SystemExit(130) from None
