"""Ape support: `ape compile` (ape-solidity through scripts/solc-native-wrapper.js) gives the bytecode
of contracts/artifacts, and `ape run deploy` deploys what `sluice deploy` deploys, at the same addresses.

Ape runs in a copy of the project under a temporary directory, with its data folder, py-solc-x's
binary folder and the deployment manifests there too: the checkout and ~ stay untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account
from eth_utils import keccak
from hexbytes import HexBytes

from sluice.chain import create2
from sluice.chain.deploy import CORE_CONTRACTS, DeployParams, init_code, mask_immutables
from sluice.contracts import load_artifact
from sluice.paths import ANVIL_BIN, NODE_MODULES, PROJECT_ROOT

from chains import ANVIL_KEYS, OPERATOR_KEY, RELAYER_KEY, run_anvil

pytest.importorskip("ape_solidity", reason="the ape extra is not installed")
pytest.importorskip("ape_foundry", reason="the ape extra is not installed")

pytestmark = [
    pytest.mark.chain,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(not ANVIL_BIN.exists(), reason="node_modules/.bin/anvil is missing (npm ci)"),
    pytest.mark.skipif(not (NODE_MODULES / "solc").is_dir(), reason="the npm solc is missing (npm ci)"),
]

APE = Path(sys.executable).with_name("ape")
SLUICE = [sys.executable, "-m", "launcher.cli"]
CORE = CORE_CONTRACTS
# Not the defaults, so that the options are seen to reach DeployParams.
OWNER = Account.from_key(ANVIL_KEYS[3]).address
OPERATOR = Account.from_key(OPERATOR_KEY).address
RELAYER = Account.from_key(RELAYER_KEY).address
SALT = keccak(text="sluice.test.ape")
#: Settings from the caller's environment that would change what the tests check.
UNSET = (
    "SLUICE_OPERATOR_ADDRESS",
    "SLUICE_RELAYER_ADDRESS",
    "SLUICE_APE_ACCOUNT",
    "SLUICE_DEPLOYER_KEY",
    "SLUICE_SOLC_KEEP_METADATA",
    "APE_FOUNDRY_HOST",
)


def _run(args: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = proc.stdout + proc.stderr
    command = " ".join(map(str, args))
    assert proc.returncode == 0, f"{command} exited with {proc.returncode}:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def ape_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A copy of the project for Ape (sources, ape-config.yaml, scripts/deploy.py, node_modules linked)
    and the environment to run it with."""
    base = tmp_path_factory.mktemp("ape")
    project = base / "project"
    shutil.copytree(
        PROJECT_ROOT / "contracts", project / "contracts", ignore=shutil.ignore_patterns("artifacts")
    )
    for name in ("ape-config.yaml", "package.json"):
        shutil.copy(PROJECT_ROOT / name, project / name)
    # Only the Ape script: `ape run` imports every script in scripts/ to list its commands.
    (project / "scripts").mkdir()
    shutil.copy(PROJECT_ROOT / "scripts" / "deploy.py", project / "scripts" / "deploy.py")
    (project / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)

    env = dict(os.environ)
    for name in UNSET:
        env.pop(name, None)
    env.update(
        APE_DATA_FOLDER=str(base / "ape-data"),  # not ~/.ape
        SOLCX_BINARY_PATH=str(base / "solcx"),  # not ~/.solcx
        SLUICE_DEPLOYMENTS_DIR=str(base / "deployments"),
        # The project's anvil and this venv's ape/python first.
        PATH=os.pathsep.join([str(NODE_MODULES / ".bin"), str(APE.parent), env.get("PATH", "")]),
    )
    # What `make setup` does, here into the temporary SOLCX_BINARY_PATH; twice, as it must be idempotent.
    for _ in range(2):
        _run(["sh", PROJECT_ROOT / "scripts" / "install-solc-wrapper.sh"], PROJECT_ROOT, env)
    assert (base / "solcx" / "solc-v0.8.30").resolve() == PROJECT_ROOT / "scripts" / "solc-native-wrapper.js"
    return project, env


def test_ape_compile_matches_artifacts(ape_project: tuple[Path, dict[str, str]]) -> None:
    project, env = ape_project
    _run([APE, "compile", "--force"], project, env, timeout=600)

    contract_types = json.loads((project / ".build" / "__local__.json").read_text())["contractTypes"]
    for name in CORE:
        artifact = load_artifact(name)
        runtime = HexBytes(contract_types[name]["runtimeBytecode"]["bytecode"])
        refs = artifact.immutable_references
        expected = bytes(artifact.deployed_bytecode)
        assert mask_immutables(runtime, refs) == mask_immutables(expected, refs), name
        # Same settings (viaIR, runs, cancun, no CBOR metadata): even the creation code, so the CREATE2
        # address, is the same.
        assert HexBytes(contract_types[name]["deploymentBytecode"]["bytecode"]) == artifact.bytecode, name
    # No dependency copies in contracts/.cache: `sluice contracts build` would compile them too.
    assert not any((project / "contracts" / ".cache").rglob("*.sol"))


def test_ape_run_deploy_matches_sluice_deploy(
    ape_project: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    project, env = ape_project
    options = ["--owner", OWNER, "--operator", OPERATOR, "--relayer", RELAYER, "--salt", "0x" + SALT.hex()]

    ape_dir, sluice_dir = tmp_path / "ape", tmp_path / "sluice"
    with run_anvil() as url:
        ape_env = {**env, "APE_FOUNDRY_HOST": url, "SLUICE_DEPLOYMENTS_DIR": str(ape_dir)}
        out = _run([APE, "run", "deploy", "--network", "ethereum:local:foundry", *options], project, ape_env)
        assert "SluiceEscrow: deploying to" in out
        # The deployed code is contracts/artifacts' (what `sluice deploy verify` checks).
        _run([*SLUICE, "deploy", "verify", "-n", "local", "--rpc-url", url], project, ape_env)
    with run_anvil() as url:
        sluice_env = {**env, "SLUICE_DEPLOYMENTS_DIR": str(sluice_dir)}
        _run([*SLUICE, "deploy", "-n", "local", "--rpc-url", url, *options], project, sluice_env)

    by_ape = json.loads((ape_dir / "local.json").read_text())
    by_sluice = json.loads((sluice_dir / "local.json").read_text())
    shared = (
        "network",
        "chain_id",
        "owner",
        "operator",
        "relayer",
        "max_fee_bps",
        "salt",
        "create2_factory",
        "deployer",
    )
    for key in shared:
        assert by_ape[key] == by_sluice[key], key
    assert by_ape["owner"] == OWNER and by_ape["operator"] == OPERATOR and by_ape["salt"] == "0x" + SALT.hex()
    assert set(by_ape["contracts"]) == set(CORE)
    assert by_ape["relayer"] == RELAYER
    params = DeployParams(owner=OWNER, operator=OPERATOR, relayer=RELAYER, salt=SALT)
    for name in CORE:
        ape_entry, sluice_entry = by_ape["contracts"][name], by_sluice["contracts"][name]
        for key in ("address", "artifact_hash", "constructor_args", "block_number"):
            assert ape_entry[key] == sluice_entry[key], f"{name}.{key}"
        assert ape_entry["address"] == create2.create2_address(SALT, init_code(load_artifact(name), params))
        assert ape_entry["tx_hash"].startswith("0x")
