"""The real app under uvicorn on 127.0.0.1, in a thread with its own event loop, for tests that talk
to it over real HTTP (the OpenAPI fuzz test, the browser test of /docs); and `sluice indexer` as its own
process, for the kill -9 tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from sluice.chain.node import free_port


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serves `app` (lifespan included) until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), name="served-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


SLUICE = Path(sys.executable).parent / "sluice"


@contextmanager
def indexer_process(
    network: str, db_url: str, log_path: Path, environment: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """`sluice indexer --network NETWORK` in its own process (fast polls, output appended to
    `log_path`), killed if still running at the end. Not the session's SLUICE_NETWORKS_FILE: the
    browser tests' fixture sets one for the whole session of its xdist worker."""
    inherited = {k: v for k, v in os.environ.items() if k != "SLUICE_NETWORKS_FILE"}
    process_env = {
        **inherited,
        "SLUICE_ENV": "test",
        "SLUICE_DATABASE_URL": db_url,
        "SLUICE_INDEXER_POLL_SECONDS": "0.05",
        "SLUICE_INDEXER_LEADER_POLL_SECONDS": "0.1",
        **environment,
    }
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(SLUICE), "indexer", "--network", network],
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
