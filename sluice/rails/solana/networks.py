"""Solana networks and assets Sluice takes payments in: mainnet-beta, devnet and the local LiteSVM cluster.

RPC URLs come from the environment only (`SLUICE_RPC_URL_SOLANA`, `…_SOLANA_DEVNET`, `…_SOLANA_LOCAL`),
like the EVM networks', because they usually embed an API key. The local cluster's dev USDC mint and
its mint authority are derived from fixed seeds, so every `sluice dev` (and every test) has the same
mint address without a file to share; they are development keys and never valid anywhere else.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from solders.keypair import Keypair

from sluice.chain.network_config import Asset, NetworkConfig
from sluice.errors import InvalidRequestError, NetworkError, UnknownAssetError, UnknownNetworkError

SOL_DECIMALS = 9
USDC_DECIMALS = 6
MAINNET_USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
DEVNET_USDC_MINT = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"


def dev_keypair(label: str) -> Keypair:
    """A deterministic development keypair (local cluster only): the same on every machine."""
    return Keypair.from_seed(hashlib.sha256(b"sluice solana-local " + label.encode()).digest())


#: The local cluster's USDC stand-in: its mint account's keypair and the authority that mints it.
DEV_USDC_MINT_KEYPAIR = dev_keypair("usdc mint")
DEV_USDC_MINT_AUTHORITY = dev_keypair("usdc mint authority")
LOCAL_USDC_MINT = str(DEV_USDC_MINT_KEYPAIR.pubkey())


@dataclass(frozen=True)
class SolanaNetwork:
    """One Solana cluster: its assets, RPC default, and the commitments that mean processing / final."""

    name: str
    cluster: str
    testnet: bool
    assets: Mapping[str, Asset] = field(default_factory=dict)
    default_rpc: str | None = None
    #: The commitment at which an observed payment moves the intent to `processing`.
    processing_commitment: str = "confirmed"
    #: The commitment at which it counts (`succeeded`).
    final_commitment: str = "finalized"

    @property
    def rpc_env(self) -> str:
        return "SLUICE_RPC_URL_" + self.name.upper().replace("-", "_")

    def rpc_url(self, override: str | None = None) -> str:
        """The node's URL: the override, the environment, or the default (local cluster only)."""
        url = override or os.environ.get(self.rpc_env) or self.default_rpc
        if not url:
            raise NetworkError(f"no RPC URL for network {self.name!r}: set {self.rpc_env}")
        return url.split(",")[0].strip()

    def asset(self, symbol: str) -> Asset:
        """The asset called `symbol` (case-insensitive); the error lists this network's assets."""
        try:
            return self.assets[symbol.upper()]
        except KeyError:
            raise UnknownAssetError(
                f"asset {symbol!r} is not payable on {self.name}; known: {', '.join(self.assets)}",
                network=self.name,
                asset=symbol,
                known=tuple(self.assets),
            ) from None


def _assets(usdc_mint: str) -> dict[str, Asset]:
    return {
        "SOL": Asset("SOL", None, SOL_DECIMALS),
        "USDC": Asset("USDC", usdc_mint, USDC_DECIMALS, stablecoin=True),
    }


SOLANA_NETWORKS: dict[str, SolanaNetwork] = {
    n.name: n
    for n in (
        SolanaNetwork("solana", "mainnet-beta", testnet=False, assets=_assets(MAINNET_USDC_MINT)),
        SolanaNetwork(
            "solana-devnet",
            "devnet",
            testnet=True,
            assets=_assets(DEVNET_USDC_MINT),
            default_rpc="https://api.devnet.solana.com",
        ),
        SolanaNetwork(
            "solana-local",
            "localnet",
            testnet=True,
            assets=_assets(LOCAL_USDC_MINT),
            default_rpc="http://127.0.0.1:8899",
        ),
    )
}


def get_solana_network(name: str) -> SolanaNetwork:
    """The Solana network called `name`; the error lists the known ones."""
    try:
        return SOLANA_NETWORKS[name]
    except KeyError:
        raise UnknownNetworkError(
            f"unknown Solana network {name!r}; known: {', '.join(SOLANA_NETWORKS)}",
            network=name,
            known=tuple(SOLANA_NETWORKS),
        ) from None


def check_mode(network: SolanaNetwork, livemode: bool) -> None:
    """Live keys pay on mainnet only, test keys on devnet and the local cluster (as on EVM)."""
    if livemode and network.testnet:
        raise InvalidRequestError(
            f"{network.name} is a test network: use a test key (sk_test_…)",
            param="network",
            code="livemode_mismatch",
        )
    if not livemode and not network.testnet:
        raise InvalidRequestError(
            f"{network.name} is a live network: use a live key (sk_live_…)",
            param="network",
            code="livemode_mismatch",
        )


def network_configs(environ: Mapping[str, str] | None = None) -> dict[str, NetworkConfig]:
    """The Solana networks as entries of the gateway's network registry (`sluice.chain.registry`):
    family `solana`, the `solana-pay` rail, SOL and USDC. Solana has no chain id: 0."""
    env = os.environ if environ is None else environ
    configs = {}
    for network in SOLANA_NETWORKS.values():
        url = env.get(network.rpc_env) or network.default_rpc
        configs[network.name] = NetworkConfig(
            name=network.name,
            chain_id=0,
            testnet=network.testnet,
            confirmations=1,
            native_symbol="SOL",
            fee_model="legacy",
            rpc_urls=tuple(u.strip() for u in url.split(",")) if url else (),
            assets=dict(network.assets),
            native_decimals=SOL_DECIMALS,
            family="solana",
            rails=("solana-pay",),
        )
    return configs
