"""Stacks networks Sluice knows by name: chain id, address versions, API URL, finality depth."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sluice.chain.manifest import read_manifest
from sluice.chain.network_config import Asset, DeployedContracts, NetworkConfig
from sluice.errors import NetworkError
from sluice.rails.stacks.c32 import Chain

#: Chain ids (the `chain-id` keyword in Clarity): mainnet, and every testnet (simnet included).
MAINNET_CHAIN_ID = 0x00000001
TESTNET_CHAIN_ID = 0x80000000
#: The rail's name (sluice.rails.stacks.events.RAIL_NAME; repeated here to keep this module light).
RAIL = "stacks-contract"
STX_DECIMALS = 6
SBTC_DECIMALS = 8
#: sBTC (SIP-010, 8 decimals) as the Stacks docs list it; on stacks-local the test token the deploy puts
#: there (`test-token`, 8 decimals, minted freely) stands in for it.
SBTC_TOKENS = {
    "stacks-mainnet": "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token",
    "stacks-testnet": "ST1F7QA2MDF17S807EPA36TSS8AMEFY4KA9TVGWXT.sbtc-token",
}


@dataclass(frozen=True)
class StacksNetwork:
    """A Stacks network; `api_env` names the variable holding its Stacks Blockchain API URL."""

    name: str
    chain: Chain
    #: Depth in Stacks blocks at which an observed payment counts. Since Nakamoto a Stacks block is
    #: confirmed by the signers within seconds and can only be undone with a Bitcoin reorganisation,
    #: so the depth spans at least one Bitcoin block's worth of Stacks blocks on public networks.
    confirmations: int
    default_api: str | None = None

    @property
    def chain_id(self) -> int:
        return MAINNET_CHAIN_ID if self.chain == "mainnet" else TESTNET_CHAIN_ID

    @property
    def transaction_version(self) -> int:
        """The first byte of a serialized transaction: 0x00 on mainnet, 0x80 on testnets."""
        return 0x00 if self.chain == "mainnet" else 0x80

    @property
    def api_env(self) -> str:
        return "SLUICE_STACKS_API_URL_" + self.name.removeprefix("stacks-").upper()

    def api_url(self, override: str | None = None) -> str:
        url = override or os.environ.get(self.api_env) or self.default_api
        if not url:
            raise NetworkError(f"no Stacks API URL for {self.name!r}: set {self.api_env} or pass --api-url")
        return url.rstrip("/")


STACKS_NETWORKS: dict[str, StacksNetwork] = {
    n.name: n
    for n in (
        # The local development chain: clarinet-sdk's simnet behind the Stacks API endpoints the rail
        # uses (docs/stacks.md); simnet is a testnet chain (chain id 0x80000000, ST… addresses).
        StacksNetwork("stacks-local", "testnet", confirmations=1, default_api="http://127.0.0.1:3999"),
        StacksNetwork("stacks-testnet", "testnet", confirmations=10),
        StacksNetwork("stacks-mainnet", "mainnet", confirmations=30),
    )
}


def is_stacks_network(name: str) -> bool:
    return name in STACKS_NETWORKS


def get_stacks_network(name: str) -> StacksNetwork:
    """The Stacks network called `name`; the error lists the known ones."""
    try:
        return STACKS_NETWORKS[name]
    except KeyError:
        raise NetworkError(f"unknown Stacks network {name!r}; known: {', '.join(STACKS_NETWORKS)}") from None


def deployed_contract(name: str, directory: Path | None = None) -> str | None:
    """The sluice-payments contract id `sluice deploy --network NAME` recorded, if any."""
    manifest = read_manifest(name, directory) or {}
    if manifest.get("family") != "stacks":
        return None
    entry = (manifest.get("contracts") or {}).get("sluice-payments") or {}
    return entry.get("contract_id")


def sbtc_token(name: str, directory: Path | None = None) -> str | None:
    """The sBTC contract of a network (the deployed test token on stacks-local)."""
    if name in SBTC_TOKENS:
        return SBTC_TOKENS[name]
    manifest = read_manifest(name, directory) or {}
    entry = (manifest.get("contracts") or {}).get("test-token") or {}
    return entry.get("contract_id")


def network_configs(directory: Path | None = None) -> dict[str, NetworkConfig]:
    """The Stacks networks as entries of the gateway's network registry (`sluice.chain.registry`):
    family `stacks`, the `stacks-contract` rail, STX (6 decimals) and sBTC (8 decimals), the
    sluice-payments contract (it is both the payments and the escrow contract) from the manifest.

    `chain_id` is 0: the registry's chain ids are EVM ones (Stacks mainnet's 1 would be Ethereum's)
    and the testnets' 0x80000000 does not fit the stored column; the Stacks chain id lives in
    `StacksNetwork`. `rpc_urls` stay empty: the Stacks API URL is `StacksNetwork.api_url()`, and EVM
    code paths that look for an RPC URL (the EVM indexer, nonce invalidation) skip these networks."""
    configs: dict[str, NetworkConfig] = {}
    for network in STACKS_NETWORKS.values():
        contract = deployed_contract(network.name, directory)
        token = sbtc_token(network.name, directory)
        assets: Mapping[str, Asset] = {"STX": Asset("STX", None, STX_DECIMALS)}
        if token is not None:
            assets = {**assets, "sBTC": Asset("sBTC", token, SBTC_DECIMALS)}
        configs[network.name] = NetworkConfig(
            name=network.name,
            chain_id=0,
            testnet=network.chain == "testnet",
            confirmations=network.confirmations,
            native_symbol="STX",
            native_decimals=STX_DECIMALS,
            fee_model="legacy",
            contracts=DeployedContracts(payments=contract, escrow=contract),
            assets=assets,
            family="stacks",
            rails=(RAIL,),
        )
    return configs
