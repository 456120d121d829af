"""`sluice dev`: anvil with state kept, contracts and dev tokens deployed, idempotent across restarts."""

import json

import pytest
from typer.testing import CliRunner
from web3 import Web3

from launcher.cli import app
from sluice.contracts import load_artifact

from chains import free_port

pytestmark = [pytest.mark.chain, pytest.mark.e2e]


def test_dev_deploys_once_and_keeps_state(tmp_path, monkeypatch):
    monkeypatch.setenv("SLUICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SLUICE_DEPLOYMENTS_DIR", str(tmp_path / "deployments"))
    port = free_port()
    runner = CliRunner()
    first = runner.invoke(app, ["dev", "--port", str(port), "--exit-after-setup"])
    assert first.exit_code == 0, first.output
    manifest = json.loads((tmp_path / "deployments" / "local.json").read_text())
    assert set(manifest["tokens"]) == {"USDC", "USDT"}
    assert (tmp_path / "data" / "anvil" / "state.json").is_file()

    second = runner.invoke(app, ["dev", "--port", str(port), "--exit-after-setup"])
    assert second.exit_code == 0, second.output
    assert "deploying" not in second.output  # the saved chain already has everything
    assert json.loads((tmp_path / "deployments" / "local.json").read_text()) == manifest

    # The saved state really holds the contracts and the funded accounts.
    from launcher.dev import anvil

    with anvil(port, tmp_path / "data" / "anvil" / "state.json") as url:
        w3 = Web3(Web3.HTTPProvider(url))
        usdc = w3.eth.contract(
            address=manifest["tokens"]["USDC"]["address"], abi=load_artifact("DevUSDC").abi
        )
        assert usdc.functions.balanceOf(w3.eth.accounts[1]).call() == 1_000_000 * 10**6
        assert w3.eth.get_code(manifest["contracts"]["SluicePayments"]["address"])
