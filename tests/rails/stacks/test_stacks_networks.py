"""The Stacks networks in the gateway's registry: family, rail, STX and sBTC with their decimals, the
deployed contract from the manifest, test or live mode; and the Stacks rail among the default rails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stacks_helpers import CONTRACT, DEPLOYER, TOKEN

from sluice.chain.registry import Registry
from sluice.config import Settings
from sluice.errors import UnknownAssetError
from sluice.intents.signing import NonceAllocator
from sluice.rails.defaults import default_rails
from sluice.rails.stacks.rail import StacksRail


def _manifest(directory: Path) -> None:
    (directory / "stacks-local.json").write_text(
        json.dumps(
            {
                "network": "stacks-local",
                "family": "stacks",
                "chain_id": 0x80000000,
                "deployer": DEPLOYER,
                "contracts": {
                    "sluice-payments": {"contract_id": CONTRACT},
                    "test-token": {"contract_id": TOKEN},
                },
            }
        )
    )


def test_stacks_networks_are_in_the_registry_with_stx_and_sbtc(tmp_path: Path) -> None:
    _manifest(tmp_path)
    registry = Registry.load(deployments=tmp_path, environ={})
    local, testnet, mainnet = (registry.network(f"stacks-{n}") for n in ("local", "testnet", "mainnet"))
    assert [(n.family, n.rails, n.chain_id, n.live) for n in (local, testnet, mainnet)] == [
        ("stacks", ("stacks-contract",), 0, False),
        ("stacks", ("stacks-contract",), 0, False),
        ("stacks", ("stacks-contract",), 0, True),
    ]
    assert local.contracts.payments == local.contracts.escrow == CONTRACT
    assert testnet.contracts.payments is None  # not deployed there
    assert (local.native_asset.symbol, local.native_asset.decimals) == ("STX", 6)
    assert local.asset("sbtc").address == TOKEN and local.asset("sBTC").decimals == 8
    assert mainnet.asset("sBTC").address == "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token"
    # Reports resolve an intent's token back to its asset (Stacks tokens are not hex).
    assert local.asset_for_token(TOKEN).symbol == "sBTC"
    assert local.asset_for_token("0x" + "0" * 40).symbol == "STX"
    with pytest.raises(UnknownAssetError):
        local.asset_for_token(f"{DEPLOYER}.other-token")
    # No RPC URL: the EVM paths (indexer, nonce invalidation) leave Stacks networks alone.
    assert local.rpc_urls == ()


def test_without_a_deployment_stacks_local_has_stx_only(tmp_path: Path) -> None:
    local = Registry.load(deployments=tmp_path, environ={}).network("stacks-local")
    assert list(local.assets) == ["STX"] and local.contracts.payments is None


def test_the_default_rails_include_the_stacks_rail_with_the_deployed_contracts(tmp_path: Path) -> None:
    _manifest(tmp_path)
    registry = Registry.load(deployments=tmp_path, environ={})
    settings = Settings(env="test", operator_key="0x" + "55" * 32)  # type: ignore[arg-type]
    rail = default_rails(registry, settings, NonceAllocator()).get("stacks-contract")
    assert isinstance(rail, StacksRail)
    assert rail.contracts == {"stacks-local": CONTRACT}
    assert rail.operator_key is not None and not isinstance(rail.operator_key, bytes)
    assert rail.operator_key("stacks-local") == bytes.fromhex("55" * 32)
