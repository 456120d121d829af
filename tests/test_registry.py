"""The network and asset registry: built-in tables, manifests, the networks file, and its errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from eth_utils import is_checksum_address

from sluice.chain.registry import BUILTIN_ASSETS, Asset, Registry, get_registry
from sluice.errors import (
    ContractNotDeployedError,
    NetworkConfigError,
    NetworkError,
    SluiceValueError,
    UnknownAssetError,
    UnknownNetworkError,
)

PAYMENTS = "0x6A2bc33a10bDE0a691216f90EEb1555e1f88f537"
ESCROW = "0x333EAb1fEa47686aEd4c9264d5C847fBe32e2DA1"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
BAD_CHECKSUM = "0xA0b86991C6218b36c1d19D4a2e9Eb0cE3606eB48"  # USDC with one letter's case flipped


def load(tmp_path: Path, env: dict[str, str] | None = None, networks_file: Path | None = None) -> Registry:
    """A registry that sees only `tmp_path` as deployments/ and only `env` as the environment."""
    return Registry.load(deployments=tmp_path, environ=env or {}, networks_file=networks_file)


def write_manifest(directory: Path, network: str, chain_id: int, **extra: object) -> None:
    manifest = {
        "network": network,
        "chain_id": chain_id,
        "contracts": {"SluicePayments": {"address": PAYMENTS}, "SluiceEscrow": {"address": ESCROW}},
        **extra,
    }
    (directory / f"{network}.json").write_text(json.dumps(manifest))


def test_bsc_usdt_has_18_decimals_and_a_legacy_fee_model(tmp_path: Path) -> None:
    bsc = load(tmp_path).network("bsc")
    usdt = bsc.asset("USDT")
    assert usdt == Asset("USDT", "0x55d398326f99059fF775485246999027B3197955", 18, stablecoin=True)
    assert bsc.asset("USDC").decimals == 18
    assert bsc.fee_model == "legacy"
    assert bsc.chain_id == 56 and bsc.live and bsc.confirmations == 15
    assert bsc.native_asset == Asset("BNB", None, 18)
    assert usdt.to_base_units("25") == 25 * 10**18


@pytest.mark.parametrize(
    ("network", "address"),
    [
        ("ethereum", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
        ("base", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"),
        ("polygon", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359"),
        ("arbitrum", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"),
    ],
)
def test_usdc_has_6_decimals_on_ethereum_base_polygon_arbitrum(
    tmp_path: Path, network: str, address: str
) -> None:
    usdc = load(tmp_path).asset(network, "USDC")
    assert usdc.address == address and usdc.decimals == 6 and usdc.stablecoin
    assert usdc.to_base_units("25.50") == 25_500_000


def test_ethereum_usdt_and_fee_models(tmp_path: Path) -> None:
    registry = load(tmp_path)
    assert registry.asset("ethereum", "usdt").address == "0xdAC17F958D2ee523a2206206994597C13D831ec7"
    evm = [n for n in registry if n.family == "evm"]
    assert {n.name: n.fee_model for n in evm if n.fee_model == "legacy"} == {
        "bsc": "legacy",
        "bsc-testnet": "legacy",
    }
    assert registry.network("polygon").native_symbol == "POL"
    assert registry.network("polygon").min_priority_fee == 30 * 10**9


def test_every_builtin_address_is_eip55_checksummed() -> None:
    for assets in BUILTIN_ASSETS.values():
        for asset in assets:
            assert asset.address is not None and is_checksum_address(asset.address), asset


def test_unknown_network_error_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownNetworkError) as info:
        load(tmp_path).network("etherium")
    error = info.value
    assert error.code == "unknown_network" and error.param == "network"
    assert "ethereum" in error.known and "bsc" in error.known
    assert "Did you mean 'ethereum'?" in str(error)
    assert isinstance(error, NetworkError) and isinstance(error, LookupError)


def test_unknown_asset_error_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownAssetError) as info:
        load(tmp_path).asset("base", "USDT")
    error = info.value
    assert error.code == "unknown_asset" and error.network == "base" and error.asset == "USDT"
    assert error.known == ("ETH", "USDC")
    assert "known: ETH, USDC" in str(error)


def test_unknown_token_address_is_an_unknown_asset(tmp_path: Path) -> None:
    base = load(tmp_path).network("base")
    assert base.asset_for_token("0x833589fcd6edb6e08f4c7c32d4f71b54bda02913").symbol == "USDC"
    assert base.asset_for_token("0x" + "00" * 20).native
    with pytest.raises(UnknownAssetError, match="not a configured asset on base"):
        base.asset_for_token(TOKEN)


def test_rpc_urls_come_from_the_environment_comma_separated(tmp_path: Path) -> None:
    env = {"SLUICE_RPC_URL_BSC_TESTNET": "https://a.example/k1, https://b.example/k2"}
    registry = load(tmp_path, env)
    testnet = registry.network("bsc-testnet")
    assert testnet.rpc_urls == ("https://a.example/k1", "https://b.example/k2")
    assert testnet.rpc_url == "https://a.example/k1"
    assert registry.network("local").rpc_urls == ("http://127.0.0.1:8545",)  # the local default
    with pytest.raises(NetworkError, match="set SLUICE_RPC_URL_ETHEREUM"):
        _ = registry.network("ethereum").rpc_url


def test_contracts_and_dev_tokens_come_from_the_manifest(tmp_path: Path) -> None:
    tokens = {"USDC": {"address": TOKEN.lower(), "contract": "DevUSDC", "decimals": 6}}
    write_manifest(tmp_path, "local", 31337, tokens=tokens)
    local = load(tmp_path).network("local")
    assert local.contract("payments") == PAYMENTS and local.contract("escrow") == ESCROW
    assert local.asset("USDC") == Asset("USDC", TOKEN, 6, stablecoin=True)
    assert set(local.assets) == {"ETH", "USDC"}


def test_network_without_a_manifest_has_no_contracts(tmp_path: Path) -> None:
    with pytest.raises(ContractNotDeployedError, match="sluice deploy --network base") as info:
        load(tmp_path).network("base").contract("escrow")
    assert info.value.code == "contract_not_deployed" and info.value.kind == "escrow"


def test_manifest_for_another_chain_is_refused(tmp_path: Path) -> None:
    write_manifest(tmp_path, "base", 1)
    with pytest.raises(NetworkConfigError, match="chain id 1"):
        load(tmp_path)


def test_toml_file_adds_a_network_and_overrides_an_asset(tmp_path: Path) -> None:
    config = tmp_path / "networks.toml"
    config.write_text(
        f"""
[networks.ethereum]
confirmations = 20

[networks.ethereum.assets.DAI]
address = "0x6B175474E89094C44Da98b954EedeAC495271d0F"
decimals = 18
stablecoin = true

[networks.avalanche]
chain_id = 43114
testnet = false
native_symbol = "AVAX"
fee_model = "eip1559"

[networks.avalanche.contracts]
payments = "{PAYMENTS}"

[networks.avalanche.assets.USDC]
address = "0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E"
decimals = 6
stablecoin = true
"""
    )
    registry = load(tmp_path, {"SLUICE_RPC_URL_AVALANCHE": "https://avax.example"}, config)
    ethereum = registry.network("ethereum")
    assert ethereum.confirmations == 20 and ethereum.asset("DAI").decimals == 18
    assert ethereum.asset("USDC").decimals == 6  # built-ins stay
    avalanche = registry.network("avalanche")
    assert avalanche.chain_id == 43114 and avalanche.native_symbol == "AVAX"
    assert set(avalanche.assets) == {"AVAX", "USDC"}
    assert avalanche.contracts.payments == PAYMENTS and avalanche.contracts.escrow is None
    assert avalanche.rpc_urls == ("https://avax.example",)
    assert registry.network_for_chain_id(43114) is avalanche


def test_json_file_from_the_environment_variable(tmp_path: Path) -> None:
    config = tmp_path / "networks.json"
    config.write_text(
        json.dumps({"networks": {"bsc": {"fee_model": "eip1559", "min_priority_fee_wei": 10**8}}})
    )
    bsc = load(tmp_path, {"SLUICE_NETWORKS_FILE": str(config)}).network("bsc")
    assert bsc.fee_model == "eip1559" and bsc.min_priority_fee == 10**8


REBASING_FLAGGED = {"address": "0x" + "77" * 20, "decimals": 18, "rebasing": True}
STETH = {"address": "0xae7ab96520de3a18e5e111b5eaab095312d7fe84", "decimals": 18}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"ethereum": {"rpc_url": "https://mainnet.example/secret"}}, "SLUICE_RPC_URL_ETHEREUM"),
        ({"ethereum": {"assets": {"X": {"address": BAD_CHECKSUM, "decimals": 6}}}}, "checksum"),
        ({"ethereum": {"fee_model": "eip4844"}}, "fee_model"),
        ({"ethereum": {"confirmation": 3}}, "confirmation"),
        ({"newnet": {"chain_id": 5}}, "needs chain_id and testnet"),
        ({"ethereum": {"assets": {"X": REBASING_FLAGGED}}}, "rebasing tokens are refused"),
        ({"ethereum": {"assets": {"STETH": STETH}}}, "STETH is Lido stETH; rebasing tokens are refused"),
    ],
)  # fmt: skip
def test_invalid_networks_file_is_refused_with_the_reason(tmp_path: Path, entry: dict, message: str) -> None:
    config = tmp_path / "networks.json"
    config.write_text(json.dumps({"networks": entry}))
    with pytest.raises(NetworkConfigError, match=message):
        load(tmp_path, networks_file=config)


def test_amounts_convert_exactly_between_units() -> None:
    usdc = Asset("USDC", TOKEN, 6, stablecoin=True)
    assert usdc.to_base_units(Decimal("0.000001")) == 1
    assert usdc.format_units(25_500_000) == "25.5"
    assert usdc.format_units(25_000_000) == "25"
    assert Asset("BNB", None, 18).format_units(1) == "0.000000000000000001"
    with pytest.raises(SluiceValueError, match="at most 6 decimals"):
        usdc.to_base_units("0.0000001")
    with pytest.raises(SluiceValueError, match="not a decimal"):
        usdc.to_base_units("ten")


def test_get_registry_is_built_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLUICE_DEPLOYMENTS_DIR", str(tmp_path))
    monkeypatch.delenv("SLUICE_NETWORKS_FILE", raising=False)
    get_registry.cache_clear()
    try:
        assert get_registry() is get_registry()
        assert get_registry().network("base").chain_id == 8453
    finally:
        get_registry.cache_clear()
