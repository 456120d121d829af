"""Stacks networks Sluice knows by name: chain id, address versions, API URL, finality depth."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sluice.errors import NetworkError
from sluice.rails.stacks.c32 import Chain

#: Chain ids (the `chain-id` keyword in Clarity): mainnet, and every testnet (simnet included).
MAINNET_CHAIN_ID = 0x00000001
TESTNET_CHAIN_ID = 0x80000000


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
