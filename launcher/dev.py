"""`sluice dev`: a local anvil chain with the contracts and dev tokens deployed, ready to pay."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import to_checksum_address
from web3 import Web3

from sluice.chain import create2
from sluice.chain.deploy import (
    DEFAULT_SALT,
    DeployParams,
    LocalSender,
    deploy,
    ensure_factory,
    write_manifest,
)
from sluice.chain.keys import ANVIL_DEPLOYER_KEY, ANVIL_OPERATOR_KEY, ANVIL_RELAYER_KEY
from sluice.chain.multicall import install_on_dev_chain as install_multicall3
from sluice.chain.node import run_anvil
from sluice.contracts import load_artifact
from sluice.paths import PROJECT_ROOT

#: Dev tokens: symbol -> (contract, decimals).
DEV_TOKENS = {"USDC": ("DevUSDC", 6), "USDT": ("DevUSDT", 6)}
#: anvil accounts 1..5 get dev tokens to pay with.
FUNDED_ACCOUNTS = 5
FUNDING = 1_000_000 * 10**6  # one million tokens of 6 decimals each


@contextlib.contextmanager
def anvil(port: int, state_file: Path) -> Iterator[str]:
    """Runs anvil with its state kept in `state_file` across restarts; yields the RPC URL."""
    state_file.parent.mkdir(parents=True, exist_ok=True)
    # --state loads the file at start and writes it on exit; --state-interval also writes it every
    # 5 s, so a killed process loses at most a few seconds.
    extra = ("--state", str(state_file), "--state-interval", "5", "--chain-id", "31337")
    with run_anvil(*extra, port=port) as url:
        yield url


@contextlib.contextmanager
def local_solana(port: int) -> Iterator[dict[str, Any]]:
    """The local Solana cluster (LiteSVM behind JSON-RPC, sluice.rails.solana.devchain) in a thread of
    this process, on `port` or another free one when it is taken; yields its `solana` section of
    `.sluice/dev.json`. Its state lives in memory: every start is a new, empty cluster."""
    from sluice.rails.solana.devchain.devinfo import local_cluster

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            port = 0
    with local_cluster(port=port) as info:
        yield info


@dataclass
class DevChain:
    url: str
    manifest: dict[str, Any]


def setup_local_chain(url: str, *, salt: bytes = DEFAULT_SALT) -> DevChain:
    """Deploys the contracts and dev tokens on a local chain and funds the dev accounts (idempotent)."""
    w3 = Web3(Web3.HTTPProvider(url))
    deployer = Account.from_key(ANVIL_DEPLOYER_KEY)
    operator = Account.from_key(ANVIL_OPERATOR_KEY)
    relayer = Account.from_key(ANVIL_RELAYER_KEY)
    sender = LocalSender(deployer)
    params = DeployParams(owner=deployer.address, operator=operator.address, relayer=relayer.address)
    result = deploy(w3, "local", sender, params)
    manifest = dict(result.manifest)
    ensure_factory(w3, sender)
    # Native-coin deposit addresses are watched through Multicall3 (indexer/deposits.py).
    install_multicall3(w3.provider)
    tokens: dict[str, Any] = {}
    for symbol, (contract, decimals) in DEV_TOKENS.items():
        artifact = load_artifact(contract)
        address = to_checksum_address(create2.create2_address(salt, bytes(artifact.bytecode)))
        if not w3.eth.get_code(address):
            sender.send(
                w3, {"to": create2.FACTORY, "data": create2.factory_calldata(salt, bytes(artifact.bytecode))}
            )
        token = w3.eth.contract(address=address, abi=artifact.abi)
        for i in range(1, FUNDED_ACCOUNTS + 1):
            account = w3.eth.accounts[i]
            if token.functions.balanceOf(account).call() < FUNDING // 2:
                sender.send(
                    w3, token.functions.mint(account, FUNDING).build_transaction({"from": deployer.address})
                )
        tokens[symbol] = {"address": address, "contract": contract, "decimals": decimals}
    if manifest.get("tokens") != tokens:
        manifest["tokens"] = tokens
        write_manifest(manifest)
    return DevChain(url, manifest)


def data_dir() -> Path:
    """Where local state lives (anvil's chain state): .data/, or $SLUICE_DATA_DIR."""
    return Path(os.environ.get("SLUICE_DATA_DIR") or PROJECT_ROOT / ".data")


def default_info_file() -> Path:
    """`.sluice/dev.json` in the working directory: where scripts find the running dev stack."""
    return Path.cwd() / ".sluice" / "dev.json"


def reset_data(directory: Path, *, embedded_db: bool) -> None:
    """Forgets the saved chain, the demo merchant's keys and orders (and the embedded database)."""
    import shutil

    (directory / "anvil" / "state.json").unlink(missing_ok=True)
    for name in ("dev", "demo", *(("postgres",) if embedded_db else ())):
        shutil.rmtree(directory / name, ignore_errors=True)


def prepare_database(directory: Path) -> tuple[str, bool]:
    """DATABASE_URL, or the embedded server in `directory`, migrated to head; (plain URL, embedded)."""
    from sluice.config import get_settings, to_asyncpg_url
    from sluice.db.embedded import start_embedded
    from sluice.db.migrate import upgrade

    configured = get_settings().database_url
    url = configured or start_embedded(directory)
    upgrade(to_asyncpg_url(url))
    return url, configured is None


def run_stack(ctx: Any, info_file: Path, on_ready: Any) -> None:
    """Runs `launcher.devstack.DevStack` until SIGINT/SIGTERM; `on_ready(info)` once it is up."""
    import asyncio
    import signal

    from launcher.devstack import DevStack, write_info

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        def ready(info: dict[str, Any]) -> None:
            write_info(info, info_file)
            on_ready(info)

        await DevStack(ctx).run(stop, on_ready=ready)

    asyncio.run(main())


@contextlib.contextmanager
def stacks_chain(port: int, deployments: Path) -> Iterator[tuple[str, dict[str, Any]] | None]:
    """The local Stacks chain (clarinet-sdk's simnet behind the Stacks API endpoints, a development
    tool) with sluice-payments deployed and test sBTC for the dev payer: (API URL, manifest). None
    when Node.js or the npm packages are missing (the EVM part of `sluice dev` runs without it)."""
    import asyncio
    import shutil

    from sluice.chain.keys import ANVIL_OPERATOR_KEY
    from sluice.config import get_settings
    from sluice.errors import KeyConfigError
    from sluice.intents.signing import operator_account
    from sluice.paths import NODE_MODULES
    from sluice.rails.stacks.devnode import setup_stacks_local, simnet_api

    if shutil.which("node") is None or not (NODE_MODULES / "@stacks" / "clarinet-sdk").exists():
        yield None
        return
    try:
        operator = bytes(operator_account(get_settings(), live=False).key)
    except KeyConfigError:
        operator = bytes.fromhex(ANVIL_OPERATOR_KEY.removeprefix("0x"))
    with simnet_api(port) as url:
        yield url, asyncio.run(setup_stacks_local(url, operator, deployments))
