"""The real app under uvicorn on 127.0.0.1, in a thread with its own event loop, for tests that talk
to it over real HTTP (the OpenAPI fuzz test, the browser test of /docs)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
