"""EVM networks Sluice knows by name: chain id, RPC URL (from the environment), test or live."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sluice.errors import NetworkError


@dataclass(frozen=True)
class Network:
    """An EVM network; `rpc_env` names the variable holding its RPC URL (never written to a file)."""

    name: str
    chain_id: int
    testnet: bool
    confirmations: int
    default_rpc: str | None = None

    @property
    def rpc_env(self) -> str:
        return "SLUICE_RPC_URL_" + self.name.upper().replace("-", "_")

    def rpc_url(self, override: str | None = None) -> str:
        url = override or os.environ.get(self.rpc_env) or self.default_rpc
        if not url:
            raise NetworkError(f"no RPC URL for network {self.name!r}: set {self.rpc_env} or pass --rpc-url")
        return url


NETWORKS: dict[str, Network] = {
    n.name: n
    for n in (
        Network("local", 31337, testnet=True, confirmations=1, default_rpc="http://127.0.0.1:8545"),
        Network("ethereum", 1, testnet=False, confirmations=12),
        Network("sepolia", 11155111, testnet=True, confirmations=12),
        Network("bsc", 56, testnet=False, confirmations=15),
        Network("bsc-testnet", 97, testnet=True, confirmations=15),
        Network("base", 8453, testnet=False, confirmations=12),
        Network("base-sepolia", 84532, testnet=True, confirmations=12),
        Network("polygon", 137, testnet=False, confirmations=64),
        Network("arbitrum", 42161, testnet=False, confirmations=12),
    )
}


def get_network(name: str) -> Network:
    """The network called `name`; the error lists the known ones."""
    try:
        return NETWORKS[name]
    except KeyError:
        raise NetworkError(f"unknown network {name!r}; known: {', '.join(NETWORKS)}") from None
