"""Starts the simnet-backed Stacks API (contracts/stacks/dev/simnet-api.mjs), a development tool:
clarinet-sdk's simnet behind the Stacks API endpoints the rail uses. See docs/stacks.md."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from sluice.errors import NetworkError
from sluice.paths import PROJECT_ROOT
from sluice.rails.stacks.c32 import address_from_public_key

SERVER = PROJECT_ROOT / "contracts" / "stacks" / "dev" / "simnet-api.mjs"
#: Clarinet's public devnet keys of settings/Devnet.toml (test funds only, never on a real network).
DEV_DEPLOYER_KEY = bytes.fromhex("753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a6")
DEV_WALLET_1_KEY = bytes.fromhex("7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c178")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def simnet_api(port: int | None = None, *, startup_timeout: float = 120.0) -> Iterator[str]:
    """Runs the server on 127.0.0.1 (a free port by default); yields its base URL; stops it after."""
    node = shutil.which("node")
    if node is None:
        raise NetworkError("node is not installed: the simnet Stacks API needs Node.js and `npm ci`")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [node, str(SERVER), "--port", str(port)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise NetworkError(f"the simnet Stacks API exited: {stderr[-2000:]}")
            try:
                httpx.get(url + "/v2/info", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise NetworkError(
                        f"the simnet Stacks API did not start within {startup_timeout:.0f} s"
                    ) from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


#: The dev payer (Devnet.toml's wallet_1, DEV_WALLET_1_KEY): the checkout's test wallet signs for it.
DEV_PAYER_ADDRESS = "ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5"
#: Test sBTC (the `test-token` deployed on stacks-local) minted to the dev payer: 10 "sBTC".
DEV_TOKEN_FUNDING = 10 * 10**8


async def setup_stacks_local(
    url: str, operator_key: bytes, deployments: Path | None = None
) -> dict[str, Any]:
    """`sluice deploy --network stacks-local` against the simnet API at `url` (idempotent), then test
    sBTC for the dev payer; returns the manifest. The simnet starts empty on every run, so `sluice dev`
    deploys again each time (same deployer, same contract ids)."""
    from sluice.rails.stacks.api import StacksApi
    from sluice.rails.stacks.clarity import Principal, UInt, to_python
    from sluice.rails.stacks.deploy import deploy_stacks
    from sluice.rails.stacks.networks import get_stacks_network
    from sluice.rails.stacks.sip018 import public_key
    from sluice.rails.stacks.transactions import ContractCall, unsigned_transaction

    network = get_stacks_network("stacks-local")
    async with StacksApi(url) as api:
        result = await deploy_stacks(network, api, DEV_DEPLOYER_KEY, operator_key, directory=deployments)
        token = result.manifest["contracts"]["test-token"]["contract_id"]
        balance = await api.call_read_only(
            token, "get-balance", [Principal(DEV_PAYER_ADDRESS)], DEV_PAYER_ADDRESS
        )
        if int(to_python(balance)) < DEV_TOKEN_FUNDING // 2:
            deployer = address_from_public_key(public_key(DEV_DEPLOYER_KEY), network.chain)
            mint = unsigned_transaction(
                version=network.transaction_version,
                chain_id=network.chain_id,
                sender=deployer,
                nonce=await api.account_nonce(deployer),
                fee=3_000,
                payload=ContractCall(token, "mint", (UInt(DEV_TOKEN_FUNDING), Principal(DEV_PAYER_ADDRESS))),
                post_condition_mode="deny",
            )
            await api.wait_for(await api.broadcast(mint.sign(DEV_DEPLOYER_KEY).serialize()))
    return result.manifest
