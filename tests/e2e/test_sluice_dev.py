"""`make demo` (`sluice dev`) as a newcomer runs it: from a clean data directory it comes
up, the curl command it prints works, Ctrl-C (SIGINT to its process group, as a terminal sends it)
leaves no process behind, and a second start resumes with the same chain, database and keys."""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from chains import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.chain]

SLUICE = Path(sys.executable).parent / "sluice"
ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Facts for scripts:"
START_TIMEOUT = 120


class DevProcess:
    """`sluice dev` in its own session, with its output collected line by line."""

    def __init__(self, tmp: Path, anvil_port: int, api_port: int, *, via_make: bool = False) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SLUICE_DATABASE_URL")}
        env.update(
            SLUICE_DATA_DIR=str(tmp / "data"),
            SLUICE_DEPLOYMENTS_DIR=str(tmp / "deployments"),
            NO_COLOR="1",
            COLUMNS="200",
        )
        env = {k: v for k, v in env.items() if not k.startswith("SLUICE_RPC_URL_")}
        args = ["--port", str(anvil_port), "--api-port", str(api_port), "--stacks-port", str(free_port())]
        self.via_make = via_make and make_is_ready()
        if self.via_make:  # the README's command, literally
            args.append(f"--info-file {tmp / '.sluice' / 'dev.json'}")
            command = ["make", "-s", "-C", str(ROOT), "demo", f"DEV_ARGS={' '.join(args)}"]
        else:
            command = [str(SLUICE), "dev", *args]
        self.proc = subprocess.Popen(
            command,
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise AssertionError("sluice dev exited:\n" + "\n".join(self.lines[-60:]))
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} within {timeout} s:\n" + "\n".join(self.lines[-60:]))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def interrupt(self, timeout: float = 60) -> int:
        """Ctrl-C: SIGINT to the whole process group, then wait for the exit."""
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def make_is_ready() -> bool:
    """`make demo` starts at once (setup already done, as in CI after `make test`), rather than
    reinstalling packages in the middle of a test run."""
    if shutil.which("make") is None:
        return False
    targets = [".venv/.installed", "node_modules/.installed"]
    return subprocess.run(["make", "-q", "-C", str(ROOT), *targets], capture_output=True).returncode == 0


def live_processes_about(text: str) -> dict[int, str]:
    """Running (not zombie) processes whose command line mentions `text`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def run_curl(command: str) -> dict:
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(result.stdout)


def test_sluice_dev_starts_serves_stops_cleanly_and_resumes(tmp_path):
    anvil_port = free_port()
    first = DevProcess(tmp_path, anvil_port, free_port(), via_make=True)
    try:
        first.wait_for(READY_LINE)
        info = json.loads((tmp_path / ".sluice" / "dev.json").read_text())
        assert {"api_url", "rpc_url", "chain_id", "network", "secret_key", "publishable_key"} <= set(info)
        assert info["chain_id"] == 31337 and info["network"] == "local"
        assert set(info["tokens"]) == {"USDC", "USDT"} and len(info["accounts"]) == 5
        assert set(info["contracts"]) == {"SluicePayments", "SluiceEscrow", "SluiceDeposits"}
        assert info["components"] == {"api": True, "indexer": True, "worker": True}
        for fact in (info["api_url"], info["docs_url"], info["secret_key"], info["curl"]):
            assert fact in first.output
        assert info["demo_intent"]["checkout_url"] in first.output
        # The local Stacks chain: its demo intent's checkout link is printed too (`make demo`).
        stacks = info["stacks"]
        assert stacks["contract_id"].endswith(".sluice-payments") and stacks["api_url"] in first.output
        assert stacks["demo_intent"]["checkout_url"] in first.output
        assert httpx.get(stacks["demo_intent"]["checkout_url"], timeout=10).status_code == 200
        assert httpx.get(f"{stacks['api_url']}/v2/info", timeout=10).json()["network_id"] == 0x80000000

        intent = run_curl(info["curl"])  # the printed command, exactly
        assert intent["object"] == "payment_intent" and intent["status"] == "requires_payment"
        assert httpx.get(intent["checkout_url"], timeout=10).status_code == 200
        assert httpx.get(info["docs_url"], timeout=10).status_code == 200
        first.wait_for("webhook verified: payment_intent.created", timeout=30)

        running = live_processes_about(str(tmp_path))
        assert any("anvil" in c for c in running.values()), running
        assert any("postgres" in c for c in running.values()), running
        code = first.interrupt()
        # make reports the interrupt in its own exit code; sluice dev itself stopped cleanly.
        assert code == 0 or (first.via_make and code in (2, 130, -signal.SIGINT)), first.output[-3000:]
        assert "stopped; the chain and the database are kept" in first.output
        time.sleep(0.5)
        assert live_processes_about(str(tmp_path)) == {}
    finally:
        first.kill()

    second = DevProcess(tmp_path, anvil_port, free_port())
    try:
        second.wait_for(READY_LINE)
        again = json.loads((tmp_path / ".sluice" / "dev.json").read_text())
        assert again["secret_key"] == info["secret_key"]
        assert again["publishable_key"] == info["publishable_key"]
        assert again["contracts"] == info["contracts"] and again["tokens"] == info["tokens"]
        assert "deploying" not in second.output  # the saved chain already has everything
        kept = httpx.get(
            f"{again['api_url']}/v1/payment_intents/{intent['id']}",
            headers={"Authorization": f"Bearer {again['secret_key']}"},
            timeout=10,
        )
        assert kept.status_code == 200 and kept.json()["id"] == intent["id"]
        # The webhook endpoint follows the API to its new port.
        second.wait_for("webhook verified: payment_intent.created", timeout=30)
        assert second.interrupt() == 0, second.output[-3000:]
        time.sleep(0.5)
        assert live_processes_about(str(tmp_path)) == {}
    finally:
        second.kill()
    assert shlex.split(info["curl"])[0] == "curl"
