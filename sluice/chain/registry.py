"""Networks and assets Sluice takes payments in: built-in tables, deployments/*.json and an optional file.

Layers, later ones winning: the built-in tables below (chain ids from `sluice.chain.networks`), the
deployment manifest of each network (contract addresses, and dev tokens on local chains), then the
file named by $SLUICE_NETWORKS_FILE (JSON or TOML), which can add networks and assets or change
them. RPC URLs only ever come from the environment (`SLUICE_RPC_URL_<NAME>`, comma-separated for
failover): they usually embed an API key, and keys stay out of files.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sluice.chain.evm_features import HARDFORKS
from sluice.chain.hashing import checksum
from sluice.chain.manifest import read_manifest
from sluice.chain.network_config import (
    CONTRACT_NAMES,
    DEPOSITS_CONTRACT,
    NATIVE_DECIMALS,
    Asset,
    DeployedContracts,
    FeeModel,
    NetworkConfig,
    did_you_mean,
    rpc_env,
)
from sluice.chain.networks import NETWORKS
from sluice.errors import NetworkConfigError, UnknownNetworkError
from sluice.paths import deployments_dir

NETWORKS_FILE_ENV = "SLUICE_NETWORKS_FILE"
GWEI = 10**9
#: Symbols treated as USD stablecoins when a manifest's token entry does not say.
STABLECOIN_SYMBOLS = frozenset({"USDC", "USDT", "DAI", "PYUSD", "USDS", "FDUSD"})
#: Well-known rebasing tokens (chain id -> lower-case address -> name), refused as assets: their
#: balances change without transfers, so an escrow holding one would owe more or less than it holds
#: and a payment would not be worth what the intent says. Other rebasing tokens: `rebasing = true`.
REBASING_TOKENS: dict[int, dict[str, str]] = {
    1: {
        "0xae7ab96520de3a18e5e111b5eaab095312d7fe84": "Lido stETH",
        "0xd46ba6d942050d489dbd938a2c909a5d5039a161": "Ampleforth AMPL",
        "0x2a8e1e676ec238d8a992307b495b45b3feaa5e86": "Origin Dollar OUSD",
        "0x98c23e9d8f34fefb1b7bd6a91b7ff122f4e16f5c": "Aave v3 aEthUSDC",
    },
}

__all__ = [
    "CONTRACT_NAMES",
    "Asset",
    "DeployedContracts",
    "FeeModel",
    "NetworkConfig",
    "Registry",
    "get_registry",
    "rpc_env",
]


class Registry:
    """The configured networks by name; built once per process by `get_registry()`."""

    def __init__(self, networks: Mapping[str, NetworkConfig]) -> None:
        self._networks = dict(networks)

    def __iter__(self) -> Iterator[NetworkConfig]:
        return iter(self._networks.values())

    def __contains__(self, name: object) -> bool:
        return name in self._networks

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._networks)

    def network(self, name: str) -> NetworkConfig:
        """The network called `name`; the error lists the known ones."""
        try:
            return self._networks[name]
        except KeyError:
            raise UnknownNetworkError(
                f"unknown network {name!r}; known: {', '.join(self._networks)}"
                + did_you_mean(name, tuple(self._networks)),
                network=name,
                known=self.names,
            ) from None

    def asset(self, network: str, symbol: str) -> Asset:
        return self.network(network).asset(symbol)

    def network_for_chain_id(self, chain_id: int) -> NetworkConfig:
        for network in self._networks.values():
            if network.chain_id == chain_id:
                return network
        raise UnknownNetworkError(
            f"no configured network has chain id {chain_id}", network=str(chain_id), known=self.names
        )

    @classmethod
    def load(
        cls,
        *,
        networks_file: Path | None = None,
        deployments: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Registry:
        """Builds the registry from the built-in tables, the manifests and the networks file."""
        env = os.environ if environ is None else environ
        directory = deployments or deployments_dir()
        if networks_file is None and env.get(NETWORKS_FILE_ENV):
            networks_file = Path(env[NETWORKS_FILE_ENV])
        overrides = _read_networks_file(networks_file) if networks_file else {}

        networks: dict[str, NetworkConfig] = {}
        for name in [*BUILTIN, *(n for n in overrides if n not in BUILTIN)]:
            network = BUILTIN.get(name)
            override = overrides.get(name)
            if network is None:
                assert override is not None
                network = _new_network(name, override, networks_file)
            network = _apply_manifest(network, read_manifest(name, directory))
            if override is not None:
                network = _apply_override(network, override)
            networks[name] = replace(network, rpc_urls=_rpc_urls(name, env))
        for name, network in _other_families(env, directory).items():
            networks.setdefault(name, network)
        return cls(networks)


def _other_families(env: Mapping[str, str], directory: Path) -> dict[str, NetworkConfig]:
    """The networks of the non-EVM rails (their own tables; RPC URLs from the environment and
    contracts from their manifests)."""
    from sluice.rails.solana.networks import network_configs as solana_networks
    from sluice.rails.stacks.networks import network_configs as stacks_networks

    return {**solana_networks(env), **stacks_networks(directory)}


@cache
def get_registry() -> Registry:
    """The process-wide registry (environment and files read once; `get_registry.cache_clear()` reloads)."""
    return Registry.load()


# --------------------------------------------------------------------------------------------- tables


def _stable(symbol: str, address: str, decimals: int) -> Asset:
    return Asset(symbol, address, decimals, stablecoin=True)


#: Well-known stablecoins (EIP-55). BSC's Binance-Peg USDT and USDC have 18 decimals, not 6.
BUILTIN_ASSETS: dict[str, tuple[Asset, ...]] = {
    "ethereum": (
        _stable("USDC", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 6),
        _stable("USDT", "0xdAC17F958D2ee523a2206206994597C13D831ec7", 6),
    ),
    "sepolia": (_stable("USDC", "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", 6),),
    "base": (_stable("USDC", "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", 6),),
    "base-sepolia": (_stable("USDC", "0x036CbD53842c5426634e7929541eC2318f3dCF7e", 6),),
    "bsc": (
        _stable("USDT", "0x55d398326f99059fF775485246999027B3197955", 18),
        _stable("USDC", "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", 18),
    ),
    "polygon": (_stable("USDC", "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", 6),),
    "arbitrum": (_stable("USDC", "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", 6),),
}
NATIVE_SYMBOLS = {
    "bsc": "BNB",
    "bsc-testnet": "BNB",
    "polygon": "POL",
    # TAO has 9 decimals on Subtensor and 18 on its EVM side (1 rao = 10**9 wei): see docs/operations.md.
    "bittensor": "TAO",
    "bittensor-testnet": "TAO",
}
LEGACY_FEE_NETWORKS = frozenset({"bsc", "bsc-testnet"})
MIN_PRIORITY_FEES = {"polygon": 30 * GWEI}


def _builtin(name: str) -> NetworkConfig:
    base = NETWORKS[name]
    native = NATIVE_SYMBOLS.get(name, "ETH")
    assets = {native: Asset(native, None, NATIVE_DECIMALS)}
    assets.update({a.symbol: a for a in BUILTIN_ASSETS.get(name, ())})
    return NetworkConfig(
        name=name,
        chain_id=base.chain_id,
        testnet=base.testnet,
        confirmations=base.confirmations,
        native_symbol=native,
        fee_model="legacy" if name in LEGACY_FEE_NETWORKS else "eip1559",
        assets=assets,
        min_priority_fee=MIN_PRIORITY_FEES.get(name, 0),
        evm_version=base.evm_version,
    )


BUILTIN: dict[str, NetworkConfig] = {name: _builtin(name) for name in NETWORKS}


# ------------------------------------------------------------------------------------------- loading


def _rpc_urls(name: str, env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get(rpc_env(name), "")
    urls = tuple(u.strip() for u in raw.split(",") if u.strip())
    default = NETWORKS[name].default_rpc if name in NETWORKS else None
    return urls or ((default,) if default else ())


def _checksum(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        canonical = checksum(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an address") from None
    if value != value.lower() and value != canonical:
        raise ValueError(f"{value!r} has a wrong EIP-55 checksum (mistyped?)")
    return canonical


class _AssetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    decimals: int = Field(ge=0, le=77)
    stablecoin: bool = False
    #: Declares a rebasing token, only to have it refused with the reason (see REBASING_TOKENS).
    rebasing: bool = False

    @field_validator("address")
    @classmethod
    def _check_address(cls, value: str) -> str | None:
        return _checksum(value)

    @field_validator("rebasing")
    @classmethod
    def _refuse_rebasing(cls, value: bool) -> bool:
        if value:
            raise ValueError(_REBASING_REASON)
        return value


_REBASING_REASON = (
    "rebasing tokens are refused: their balances change without transfers, so escrowed and paid "
    "amounts would not add up (see docs/contracts.md)"
)


def _refuse_known_rebasing(network: NetworkConfig, symbol: str, address: str | None) -> None:
    name = REBASING_TOKENS.get(network.chain_id, {}).get((address or "").lower())
    if name is not None:
        raise NetworkConfigError(f"{network.name}: asset {symbol} is {name}; {_REBASING_REASON}")


class _ContractsEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payments: str | None = None
    escrow: str | None = None
    deposits: str | None = None

    @field_validator("payments", "escrow", "deposits")
    @classmethod
    def _check_address(cls, value: str | None) -> str | None:
        return _checksum(value)


class _NetworkEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain_id: int | None = Field(default=None, gt=0)
    testnet: bool | None = None
    confirmations: int | None = Field(default=None, ge=0)
    native_symbol: str | None = None
    native_decimals: int | None = Field(default=None, ge=0, le=77)
    fee_model: FeeModel | None = None
    min_priority_fee_wei: int | None = Field(default=None, ge=0)
    #: The newest EVM upgrade the network runs ("cancun", …); a new network without one cannot be
    #: deployed to until it is set (sluice.chain.evm_features).
    evm_version: str | None = None
    contracts: _ContractsEntry | None = None
    assets: dict[str, _AssetEntry] = Field(default_factory=dict)

    @field_validator("evm_version")
    @classmethod
    def _check_evm_version(cls, value: str | None) -> str | None:
        if value is not None and value.lower() not in HARDFORKS:
            raise ValueError(f"unknown EVM version {value!r}; known: {', '.join(HARDFORKS)}")
        return value.lower() if value is not None else None


class _NetworksFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    networks: dict[str, _NetworkEntry] = Field(default_factory=dict)


def _read_networks_file(path: Path) -> dict[str, _NetworkEntry]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NetworkConfigError(f"cannot read {NETWORKS_FILE_ENV} file {path}: {exc}") from exc
    try:
        data: Any = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise NetworkConfigError(f"{path} is not valid {path.suffix.lstrip('.').upper()}: {exc}") from exc
    for name, entry in (data.get("networks") or {}).items() if isinstance(data, dict) else ():
        if isinstance(entry, dict) and {"rpc_url", "rpc_urls"} & set(entry):
            raise NetworkConfigError(
                f"{path}: networks.{name} sets an RPC URL; RPC URLs often carry API keys, so they are read "
                f"only from the environment: set {rpc_env(name)} (comma-separated for failover)"
            )
    try:
        return _NetworksFile.model_validate(data).networks
    except ValidationError as exc:
        raise NetworkConfigError(f"{path}: {exc}") from exc


def _new_network(name: str, entry: _NetworkEntry, path: Path | None) -> NetworkConfig:
    if entry.chain_id is None or entry.testnet is None:
        raise NetworkConfigError(f"{path}: new network {name!r} needs chain_id and testnet")
    native = entry.native_symbol or "ETH"
    decimals = entry.native_decimals if entry.native_decimals is not None else NATIVE_DECIMALS
    return NetworkConfig(
        name=name,
        chain_id=entry.chain_id,
        testnet=entry.testnet,
        confirmations=entry.confirmations if entry.confirmations is not None else 12,
        native_symbol=native,
        native_decimals=decimals,
        fee_model=entry.fee_model or "eip1559",
        assets={native: Asset(native, None, decimals)},
        evm_version=entry.evm_version,
    )


def _apply_manifest(network: NetworkConfig, manifest: dict[str, Any] | None) -> NetworkConfig:
    if manifest is None:
        return network
    if manifest.get("chain_id") != network.chain_id:
        raise NetworkConfigError(
            f"deployments/{network.name}.json is for chain id {manifest.get('chain_id')}, "
            f"but network {network.name!r} has chain id {network.chain_id}"
        )
    entries = manifest.get("contracts", {})
    addresses = {kind: (entries.get(name) or {}).get("address") for kind, name in CONTRACT_NAMES.items()}
    deposits = (entries.get(DEPOSITS_CONTRACT) or {}).get("address")
    assets = dict(network.assets)
    for symbol, token in (manifest.get("tokens") or {}).items():
        _refuse_known_rebasing(network, symbol, token["address"])
        assets[symbol] = Asset(
            symbol,
            checksum(token["address"]),
            int(token["decimals"]),
            stablecoin=bool(token.get("stablecoin", symbol.upper() in STABLECOIN_SYMBOLS)),
        )
    return replace(
        network,
        contracts=DeployedContracts(
            payments=checksum(addresses["payments"]) if addresses["payments"] else None,
            escrow=checksum(addresses["escrow"]) if addresses["escrow"] else None,
            deposits=checksum(deposits) if deposits else None,
        ),
        assets=assets,
    )


def _apply_override(network: NetworkConfig, entry: _NetworkEntry) -> NetworkConfig:
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("chain_id", entry.chain_id),
            ("testnet", entry.testnet),
            ("confirmations", entry.confirmations),
            ("native_symbol", entry.native_symbol),
            ("native_decimals", entry.native_decimals),
            ("fee_model", entry.fee_model),
            ("min_priority_fee", entry.min_priority_fee_wei),
            ("evm_version", entry.evm_version),
        )
        if value is not None
    }
    network = replace(network, **changes)
    assets = {s: a for s, a in network.assets.items() if not a.native}
    assets = {network.native_symbol: network.native_asset, **assets}
    for symbol, asset in entry.assets.items():
        _refuse_known_rebasing(network, symbol, asset.address)
        assets[symbol] = Asset(symbol, asset.address, asset.decimals, asset.stablecoin)
    contracts = network.contracts
    if entry.contracts is not None:
        contracts = DeployedContracts(
            payments=entry.contracts.payments or contracts.payments,
            escrow=entry.contracts.escrow or contracts.escrow,
            deposits=entry.contracts.deposits or contracts.deposits,
        )
    return replace(network, assets=assets, contracts=contracts)
