"""The EVM features the contracts need, each network's record of them, and `sluice deploy` refusing a
network that lacks them: from the record before any RPC call, and from the node itself (anvil run
at an older hardfork) before any transaction."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from launcher.cli import app
from sluice.chain.deploy import DeployParams, LocalSender, deploy
from sluice.chain.evm_features import (
    HARDFORKS,
    OPCODES,
    check_network,
    missing_opcodes,
    opcodes_in,
    probe_code,
    required_hardfork,
    required_opcodes,
)
from sluice.chain.keys import ANVIL_DEPLOYER_KEY
from sluice.chain.registry import Registry
from sluice.contracts import load_artifact
from sluice.errors import DeploymentError, NetworkConfigError, SluiceError, UnsupportedEvmError

from chains import run_anvil

CORE = ("SluicePayments", "SluiceEscrow")


def registry(tmp_path: Path, networks_file: Path | None = None) -> Registry:
    return Registry.load(deployments=tmp_path, environ={}, networks_file=networks_file)


# ------------------------------------------------------------------------------ what the code needs


def test_linear_sweep_skips_push_data() -> None:
    # PUSH1 0x5c (TLOAD's value, as data), TSTORE, PUSH2 0x5e5f (data), STOP
    assert opcodes_in(bytes.fromhex("605c5d615e5f00")) == {0x60, 0x5D, 0x61, 0x00}


def test_the_contracts_need_transient_storage_and_what_solc_was_told_to_target() -> None:
    opcodes = required_opcodes(CORE)
    names = {op.name for op in opcodes}
    assert {"TSTORE", "TLOAD"} <= names  # the reentrancy guard (ReentrancyGuardTransient)
    assert {"MCOPY", "PUSH0"} <= names  # what solc emits for evmVersion cancun
    for name in CORE:
        assert load_artifact(name).raw["compiler"]["settings"]["evmVersion"] == required_hardfork(opcodes)
    assert required_hardfork(opcodes) == "cancun"


def test_each_upgrade_lacks_exactly_the_opcodes_that_came_later() -> None:
    opcodes = required_opcodes(CORE)
    assert missing_opcodes("cancun", opcodes) == []
    assert missing_opcodes("prague", opcodes) == []
    assert {op.name for op in missing_opcodes("shanghai", opcodes)} == {"TSTORE", "TLOAD", "MCOPY"}
    assert {op.name for op in missing_opcodes("london", opcodes)} == {"TSTORE", "TLOAD", "MCOPY", "PUSH0"}


def test_every_probe_leaves_a_clean_stack_and_the_probe_returns_one() -> None:
    code = probe_code(OPCODES.values())
    assert code.endswith(bytes.fromhex("600160005360016000f3"))
    for op in OPCODES.values():
        assert op.hardfork in HARDFORKS
        if op.probe is not None:
            assert op.value in opcodes_in(op.probe)


# --------------------------------------------------------------------------- what networks record


def test_every_builtin_network_records_an_evm_that_runs_the_contracts(tmp_path: Path) -> None:
    networks = [n for n in registry(tmp_path) if n.family == "evm"]
    assert {"bittensor", "bittensor-testnet"} <= {n.name for n in networks}
    for network in networks:
        assert network.evm_version in HARDFORKS, network.name
        check_network(network)  # raises when the record lacks an opcode


def test_bittensor_evm_mainnet_and_testnet(tmp_path: Path) -> None:
    reg = registry(tmp_path)
    main, test = reg.network("bittensor"), reg.network("bittensor-testnet")
    assert (main.chain_id, main.testnet, test.chain_id, test.testnet) == (964, False, 945, True)
    assert main.rpc_urls == ("https://lite.chain.opentensor.ai",)
    assert test.rpc_urls == ("https://test.chain.opentensor.ai",)
    for network in (main, test):
        tao = network.asset("TAO")
        assert network.native_symbol == "TAO" and tao.native and tao.decimals == 18
        assert tao.to_base_units("1.5") == 1_500_000_000_000_000_000
        assert network.fee_model == "eip1559" and network.confirmations >= 1
    assert reg.network_for_chain_id(964).name == "bittensor"


def test_rpc_url_from_the_environment_wins_over_bittensor_default(tmp_path: Path) -> None:
    env = {"SLUICE_RPC_URL_BITTENSOR": "http://127.0.0.1:9944"}
    network = Registry.load(deployments=tmp_path, environ=env).network("bittensor")
    assert network.rpc_urls == ("http://127.0.0.1:9944",)


def test_the_networks_file_sets_evm_version_and_refuses_unknown_ones(tmp_path: Path) -> None:
    config = tmp_path / "networks.toml"
    config.write_text(
        '[networks.bittensor]\nevm_version = "Shanghai"\n'
        "[networks.newchain]\nchain_id = 777\ntestnet = true\n"
    )
    reg = registry(tmp_path, config)
    assert reg.network("bittensor").evm_version == "shanghai"
    assert reg.network("newchain").evm_version is None  # unknown until someone records it
    config.write_text('[networks.bittensor]\nevm_version = "cancum"\n')
    with pytest.raises(NetworkConfigError, match="unknown EVM version 'cancum'"):
        registry(tmp_path, config)


def test_a_network_lacking_transient_storage_is_refused_with_what_is_missing(tmp_path: Path) -> None:
    old = replace(registry(tmp_path).network("bittensor"), evm_version="shanghai")
    with pytest.raises(UnsupportedEvmError) as refused:
        check_network(old)
    assert isinstance(refused.value, DeploymentError) and isinstance(refused.value, SluiceError)
    assert refused.value.code == "unsupported_evm"
    assert set(refused.value.missing) == {"TSTORE", "TLOAD", "MCOPY"}
    message = str(refused.value)
    assert "EIP-1153" in message and "reentrancy lock" in message and "Nothing was sent" in message
    assert "SLUICE_NETWORKS_FILE" in message


def test_a_network_without_a_recorded_evm_version_is_refused(tmp_path: Path) -> None:
    unknown = replace(registry(tmp_path).network("bittensor"), evm_version=None)
    with pytest.raises(UnsupportedEvmError, match="EVM version is not recorded"):
        check_network(unknown)


# ------------------------------------------------------------------------------ sluice deploy


@pytest.fixture
def listener() -> Iterator[tuple[str, list[socket.socket]]]:
    """An RPC URL on 127.0.0.1 that records every connection made to it (none expected)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", accepted
    stop.set()
    thread.join(2)
    server.close()
    for conn in accepted:
        conn.close()


@pytest.mark.parametrize(
    ("entry", "network", "expected"),
    [
        (
            '[networks.oldchain]\nchain_id = 31337\ntestnet = true\nevm_version = "shanghai"\n',
            "oldchain",
            "TSTORE",
        ),
        ('[networks.bittensor-testnet]\nevm_version = "london"\n', "bittensor-testnet", "PUSH0"),
        ("[networks.newchain]\nchain_id = 31337\ntestnet = true\n", "newchain", "not recorded"),
    ],
)
def test_deploy_refuses_before_any_rpc_call(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    listener: tuple[str, list[socket.socket]],
    entry: str,
    network: str,
    expected: str,
) -> None:
    url, connections = listener
    config = tmp_path / "networks.toml"
    config.write_text(entry)
    monkeypatch.setenv("SLUICE_NETWORKS_FILE", str(config))
    monkeypatch.setenv("SLUICE_DEPLOYMENTS_DIR", str(tmp_path))
    monkeypatch.setenv("SLUICE_RPC_URL_" + network.upper().replace("-", "_"), url)
    operator = Web3.to_checksum_address("0x" + "22" * 20)
    out = CliRunner().invoke(app, ["deploy", "--network", network, "--operator", operator])
    assert out.exit_code == 2, out.output
    output = " ".join(out.output.split())  # rich wraps long lines
    assert "unsupported_evm" in output and expected in output
    assert connections == []  # not even a connection to the RPC endpoint
    assert not (tmp_path / f"{network}.json").exists()


@pytest.mark.chain
def test_deploy_refuses_a_node_that_cannot_run_the_opcodes_and_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`local` is recorded as running a recent EVM; this anvil runs Shanghai: the node's answer wins."""
    monkeypatch.setenv("SLUICE_DEPLOYMENTS_DIR", str(tmp_path))
    with run_anvil("--hardfork", "shanghai") as url:
        w3 = Web3(Web3.HTTPProvider(url))
        deployer = w3.eth.accounts[0]
        out = CliRunner().invoke(app, ["deploy", "--network", "local", "--rpc-url", url])
        assert out.exit_code == 2, out.output
        output = " ".join(out.output.split())  # rich wraps long lines
        assert "unsupported_evm" in output and "TLOAD" in output and "TSTORE" in output
        assert "PUSH0" not in output  # Shanghai has it: only what is missing is named
        assert w3.eth.block_number == 0 and w3.eth.get_transaction_count(deployer) == 0
        assert not (tmp_path / "local.json").exists()

        # The same refusal from deploy() itself, as the Ape script and `sluice dev` call it.
        from eth_account import Account

        sender = LocalSender(Account.from_key(ANVIL_DEPLOYER_KEY))
        params = DeployParams(owner=deployer, operator=deployer, relayer=w3.eth.accounts[1])
        with pytest.raises(UnsupportedEvmError) as refused:
            deploy(w3, "local", sender, params, directory=tmp_path)
        assert set(refused.value.missing) == {"TLOAD", "TSTORE", "MCOPY"}
        assert w3.eth.block_number == 0
        assert list(tmp_path.iterdir()) == []
