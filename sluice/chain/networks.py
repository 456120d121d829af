"""The EVM networks Sluice knows by name: chain id, test or live, confirmations, default RPC URL and
the EVM version each runs. `sluice.chain.registry` builds on this table (assets, fee models,
deployments, $SLUICE_NETWORKS_FILE); RPC URLs with keys come from the environment only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Network:
    """An EVM network's built-in facts."""

    name: str
    chain_id: int
    testnet: bool
    confirmations: int
    #: A public RPC URL that needs no key, used when $SLUICE_RPC_URL_<NAME> is not set.
    default_rpc: str | None = None
    #: The newest EVM upgrade (hardfork, as solc names it) this network is known to run: a lower
    #: bound, recorded conservatively; None when unknown. `sluice deploy` refuses a network whose
    #: version lacks an opcode of the contracts (sluice.chain.evm_features). Evidence for each value
    #: is in docs/operations.md ("EVM versions").
    evm_version: str | None = None


NETWORKS: dict[str, Network] = {
    n.name: n
    for n in (
        # anvil (`sluice dev`, the tests) runs the latest upgrade unless told otherwise.
        Network(
            "local",
            31337,
            testnet=True,
            confirmations=1,
            default_rpc="http://127.0.0.1:8545",
            evm_version="prague",
        ),
        Network("ethereum", 1, testnet=False, confirmations=12, evm_version="prague"),
        Network("sepolia", 11155111, testnet=True, confirmations=12, evm_version="prague"),
        Network("bsc", 56, testnet=False, confirmations=15, evm_version="cancun"),
        Network("bsc-testnet", 97, testnet=True, confirmations=15, evm_version="cancun"),
        Network("base", 8453, testnet=False, confirmations=12, evm_version="cancun"),
        Network("base-sepolia", 84532, testnet=True, confirmations=12, evm_version="cancun"),
        Network("polygon", 137, testnet=False, confirmations=64, evm_version="cancun"),
        Network("arbitrum", 42161, testnet=False, confirmations=12, evm_version="cancun"),
        # Bittensor's EVM (Frontier on Subtensor): 12 s blocks, GRANDPA finality a few blocks behind
        # the head. Its EVM version is read from the runtime's source, not observed from here.
        Network(
            "bittensor",
            964,
            testnet=False,
            confirmations=12,
            default_rpc="https://lite.chain.opentensor.ai",
            evm_version="cancun",
        ),
        Network(
            "bittensor-testnet",
            945,
            testnet=True,
            confirmations=12,
            default_rpc="https://test.chain.opentensor.ai",
            evm_version="cancun",
        ),
    )
}
