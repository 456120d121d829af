"""Running a local anvil node: `sluice dev`, the test suite and the gas benchmark share this."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

from web3 import Web3

from sluice.errors import NetworkError
from sluice.paths import anvil_binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def run_anvil(*extra: str, port: int | None = None, timeout: float = 20.0) -> Iterator[str]:
    """Starts the native anvil on 127.0.0.1 (a free port unless given), yields its RPC URL once it
    answers, and stops it with SIGINT (so `--state` is saved), killing it if it lingers."""
    binary = anvil_binary() if anvil_binary().exists() else shutil.which("anvil")
    if binary is None:
        raise NetworkError("anvil is not installed; run `make setup` (npm ci installs @foundry-rs/anvil)")
    port = free_port() if port is None else port
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [str(binary), "--port", str(port), "--silent", *extra], stdout=subprocess.DEVNULL, stderr=stderr
        )
        try:
            w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 5}))
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    stderr.seek(0)
                    message = stderr.read().decode(errors="replace").strip()[:500]
                    raise NetworkError(f"anvil exited at start (port {port} taken?): {message}")
                with contextlib.suppress(Exception):
                    if w3.is_connected():
                        break
                if time.monotonic() > deadline:
                    raise NetworkError(f"anvil did not answer within {timeout:.0f} s")
                time.sleep(0.05)
            yield url
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # anvil saves --state when interrupted, as on Ctrl-C
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
