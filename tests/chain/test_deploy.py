"""`sluice deploy` on real anvil nodes: CREATE2 addresses, manifests, no-op, refusal, verify."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from typer.testing import CliRunner
from web3 import Web3

from launcher.cli import app
from sluice.chain import create2
from sluice.chain.deploy import (
    CORE_CONTRACTS,
    DeployParams,
    LocalSender,
    deploy,
    ensure_factory,
    resolve_params,
    verify,
)
from sluice.chain.keys import ANVIL_DEPLOYER_KEY, ANVIL_OPERATOR_KEY, ANVIL_RELAYER_KEY
from sluice.contracts import load_artifact
from sluice.errors import DeploymentError, KeyConfigError, SluiceValueError

from chains import eth_tester_chain, run_anvil

pytestmark = [pytest.mark.chain]

DEPLOYER = Account.from_key(ANVIL_DEPLOYER_KEY)
OPERATOR = Account.from_key("0x" + "22" * 32).address
RELAYER = Account.from_key("0x" + "33" * 32).address


def params(**kw) -> DeployParams:
    return DeployParams(
        owner=kw.pop("owner", DEPLOYER.address),
        operator=kw.pop("operator", OPERATOR),
        relayer=kw.pop("relayer", RELAYER),
        **kw,
    )


@pytest.fixture
def w3():
    with run_anvil() as url:
        yield Web3(Web3.HTTPProvider(url))


def test_deploy_writes_manifest_with_live_contracts(w3, tmp_path):
    result = deploy(w3, "local", LocalSender(DEPLOYER), params(), directory=tmp_path)
    manifest = json.loads((tmp_path / "local.json").read_text())
    assert result.deployed == list(CORE_CONTRACTS)
    assert manifest["chain_id"] == 31337
    assert manifest["operator"] == Web3.to_checksum_address(OPERATOR)
    assert manifest["relayer"] == Web3.to_checksum_address(RELAYER)
    assert CORE_CONTRACTS == ("SluicePayments", "SluiceEscrow", "SluiceDeposits")
    for name in CORE_CONTRACTS:
        entry = manifest["contracts"][name]
        receipt = w3.eth.get_transaction_receipt(entry["tx_hash"])
        assert receipt["blockNumber"] == entry["block_number"]
        contract = w3.eth.contract(address=entry["address"], abi=load_artifact(name).abi)
        assert contract.functions.signer().call() == Web3.to_checksum_address(OPERATOR)
        assert contract.functions.relayer().call() == Web3.to_checksum_address(RELAYER)
        assert contract.functions.owner().call() == DEPLOYER.address
        assert contract.functions.maxFeeBps().call() == 3000


def test_resolve_params_refuses_one_key_for_signer_and_relayer():
    with pytest.raises(SluiceValueError, match="separate roles"):
        resolve_params(
            DEPLOYER.address, 1, owner=None, operator=OPERATOR, relayer=OPERATOR, max_fee_bps=1, salt=None
        )


def test_resolve_params_on_a_local_chain_defaults_to_the_dev_signer_and_relayer(monkeypatch):
    monkeypatch.delenv("SLUICE_OPERATOR_ADDRESS", raising=False)
    monkeypatch.delenv("SLUICE_RELAYER_ADDRESS", raising=False)
    resolved = resolve_params(DEPLOYER.address, 31337, owner=None, operator=None, max_fee_bps=1, salt=None)
    assert resolved.operator == Account.from_key(ANVIL_OPERATOR_KEY).address
    assert resolved.relayer == Account.from_key(ANVIL_RELAYER_KEY).address


def test_resolve_params_elsewhere_requires_a_relayer(monkeypatch):
    monkeypatch.delenv("SLUICE_RELAYER_ADDRESS", raising=False)
    with pytest.raises(KeyConfigError, match="relayer"):
        resolve_params(DEPLOYER.address, 1, owner=None, operator=OPERATOR, max_fee_bps=1, salt=None)


def test_same_addresses_on_two_chains(tmp_path):
    addresses = []
    for chain_id in (31337, 8453):
        with run_anvil("--chain-id", str(chain_id)) as url:
            w3 = Web3(Web3.HTTPProvider(url))
            result = deploy(w3, f"net{chain_id}", LocalSender(DEPLOYER), params(), directory=tmp_path)
            assert result.manifest["chain_id"] == chain_id
            addresses.append({n: e["address"] for n, e in result.manifest["contracts"].items()})
    assert addresses[0] == addresses[1]


def test_redeploy_of_same_code_is_a_noop(w3, tmp_path):
    first = deploy(w3, "local", LocalSender(DEPLOYER), params(), directory=tmp_path)
    block = w3.eth.block_number
    second = deploy(w3, "local", LocalSender(DEPLOYER), params(), directory=tmp_path)
    assert second.changed is False and second.deployed == []
    assert second.manifest == first.manifest
    assert w3.eth.block_number == block  # no transaction sent


def test_different_deployment_is_refused_without_force(w3, tmp_path):
    deploy(w3, "local", LocalSender(DEPLOYER), params(), directory=tmp_path)
    before = (tmp_path / "local.json").read_text()
    with pytest.raises(DeploymentError, match="max_fee_bps"):
        deploy(w3, "local", LocalSender(DEPLOYER), params(max_fee_bps=2000), directory=tmp_path)
    assert (tmp_path / "local.json").read_text() == before  # nothing lost
    forced = deploy(
        w3, "local", LocalSender(DEPLOYER), params(max_fee_bps=2000), force=True, directory=tmp_path
    )
    assert forced.deployed == list(CORE_CONTRACTS)
    assert forced.manifest["max_fee_bps"] == 2000
    assert (
        json.loads(before)["contracts"]["SluicePayments"]["address"]
        != forced.manifest["contracts"]["SluicePayments"]["address"]
    )


def test_stale_manifest_after_chain_reset_redeploys(w3, tmp_path):
    deploy(w3, "local", LocalSender(DEPLOYER), params(), directory=tmp_path)
    with run_anvil() as url:  # a fresh chain: the recorded contracts are not there
        fresh = Web3(Web3.HTTPProvider(url))
        result = deploy(fresh, "local", LocalSender(DEPLOYER), params(), directory=tmp_path)
        assert result.deployed == list(CORE_CONTRACTS)
        assert verify(fresh, "local", directory=tmp_path).ok


def test_verify_passes_then_detects_wrong_code(w3, tmp_path):
    deploy(w3, "local", LocalSender(DEPLOYER), params(), directory=tmp_path)
    assert verify(w3, "local", directory=tmp_path).ok
    manifest = json.loads((tmp_path / "local.json").read_text())
    payments = manifest["contracts"]["SluicePayments"]["address"]
    manifest["contracts"]["SluiceEscrow"]["address"] = payments  # points at the wrong contract
    (tmp_path / "local.json").write_text(json.dumps(manifest))
    result = verify(w3, "local", directory=tmp_path)
    assert not result.ok
    assert {r[0]: r[2] for r in result.rows} == {
        "SluicePayments": True,
        "SluiceEscrow": False,
        "SluiceDeposits": True,
    }


def test_verify_reports_rotated_signer_without_failing(w3, tmp_path):
    result = deploy(w3, "local", LocalSender(DEPLOYER), params(), directory=tmp_path)
    address = result.manifest["contracts"]["SluicePayments"]["address"]
    abi = load_artifact("SluicePayments").abi
    contract = w3.eth.contract(address=address, abi=abi)
    new_signer = Account.create().address
    tx = contract.functions.rotateSigner(new_signer, 0).transact({"from": DEPLOYER.address})
    w3.eth.wait_for_transaction_receipt(tx)
    rows = {r[0]: r for r in verify(w3, "local", directory=tmp_path).rows}
    assert rows["SluicePayments"][2] is True
    assert new_signer in rows["SluicePayments"][3]


def test_factory_is_created_where_missing():
    chain = eth_tester_chain()  # py-evm has no CREATE2 proxy at genesis
    assert not create2.has_factory(chain.w3)
    funder = chain.accounts[0]
    ensure_factory(chain.w3, LocalSender(funder))
    assert create2.has_factory(chain.w3)


def test_cli_deploy_then_verify(tmp_path, monkeypatch):
    with run_anvil() as url:
        monkeypatch.setenv("SLUICE_DEPLOYMENTS_DIR", str(tmp_path))
        runner = CliRunner()
        out = runner.invoke(app, ["deploy", "--network", "local", "--rpc-url", url, "--operator", OPERATOR])
        assert out.exit_code == 0, out.output
        assert (tmp_path / "local.json").is_file()
        again = runner.invoke(app, ["deploy", "--network", "local", "--rpc-url", url, "--operator", OPERATOR])
        assert again.exit_code == 0 and "already deployed" in again.output
        refused = runner.invoke(
            app,
            [
                "deploy",
                "--network",
                "local",
                "--rpc-url",
                url,
                "--operator",
                OPERATOR,
                "--max-fee-bps",
                "100",
            ],
        )
        assert refused.exit_code == 2 and "--force" in refused.output
        checked = runner.invoke(app, ["deploy", "verify", "--network", "local", "--rpc-url", url])
        assert checked.exit_code == 0, checked.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "--network", "nowhere"], "unknown network"),
        (["deploy"], "--network is required"),
        (["deploy", "--network", "ethereum"], "SLUICE_RPC_URL_ETHEREUM"),
        (
            ["deploy", "--network", "local", "--rpc-url", "http://127.0.0.1:9", "--operator", "0x12"],
            "cannot reach",
        ),
    ],
)
def test_cli_rejects_bad_input_clearly(args, message, monkeypatch):
    monkeypatch.delenv("SLUICE_RPC_URL_ETHEREUM", raising=False)
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 2
    assert message in out.output


def test_cli_rejects_bad_operator_address(tmp_path, monkeypatch):
    with run_anvil() as url:
        out = CliRunner().invoke(
            app, ["deploy", "--network", "local", "--rpc-url", url, "--operator", "0x12"]
        )
        assert out.exit_code == 2 and "not an address" in out.output
        assert not (tmp_path / "local.json").exists()
