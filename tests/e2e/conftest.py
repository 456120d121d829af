"""The whole dev stack for browser tests: anvil with the contracts and dev tokens, the local Solana
cluster, a private database, and `sluice dev`'s API + indexer + worker (DevStackThread), plus
headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from sluice.db.admin import temporary_database

from chains import ANVIL_KEYS, run_anvil
from databases import SERVER_URL

#: Where screenshots of every final state go (gitignored); $SLUICE_TEST_OUTPUT overrides.
OUTPUT_DIR = Path(os.environ.get("SLUICE_TEST_OUTPUT") or Path(__file__).parents[1] / "output") / "e2e"
CONFIRMATIONS = 2
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`sluice dev`'s stack on free ports: yields its .sluice/dev.json facts (plus `database_url`)."""
    from eth_account import Account

    from launcher.dev import setup_local_chain, stacks_chain
    from launcher.devstack import DevContext, DevStackThread
    from sluice.chain.node import free_port

    root = tmp_path_factory.mktemp("devstack")
    deployments = root / "deployments"
    # Two confirmations rather than the local network's one, so that a payment is seen as
    # `processing` before it is `succeeded` (the wallet mines the extra block; see BrowserWallet).
    networks_file = root / "networks.json"
    networks_file.write_text(json.dumps({"networks": {"local": {"confirmations": CONFIRMATIONS}}}))
    from sluice.rails.solana.devchain.devinfo import local_cluster

    with (
        pytest.MonkeyPatch.context() as mp,
        run_anvil("--chain-id", "31337") as rpc_url,
        stacks_chain(free_port(), deployments) as stacks,  # the local Stacks chain, as `sluice dev`
        local_cluster(slot_seconds=0.1) as solana,
    ):
        mp.setenv("SLUICE_DEPLOYMENTS_DIR", str(deployments))
        mp.setenv("SLUICE_NETWORKS_FILE", str(networks_file))
        chain = setup_local_chain(rpc_url)
        with temporary_database(SERVER_URL, "sluice_e2e") as database_url:
            ctx = DevContext(
                data_dir=root / "data",
                database_url=database_url,
                rpc_url=rpc_url,
                manifest=chain.manifest,
                deployments_dir=deployments,
                api_port=free_port(),
                funded_accounts=[Account.from_key(k).address for k in ANVIL_KEYS[1:6]],
                stacks_api_url=stacks[0] if stacks else None,
                stacks_manifest=stacks[1] if stacks else None,
                solana=solana,
            )
            stack = DevStackThread(ctx)
            info = stack.start()
            try:
                yield {**info, "database_url": database_url, "demo": stack.stack.demo}
            finally:
                stack.stop()
                assert stack.error is None, f"the dev stack failed: {stack.error!r}"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium driven by playwright (its own browser download does not work here).

    Module-scoped: playwright's sync API runs an event loop in the main thread while it is open,
    and async tests of other modules (pytest-asyncio) cannot start theirs until it is closed."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed: run `make setup` (apt-get install chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Any:
    """`screenshot(page, "paid")` saves tests/output/e2e/<test>-paid.png."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)

    def take(page: Any, label: str) -> Path:
        path = OUTPUT_DIR / f"{request.node.name}-{label}.png".replace("/", "_")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
