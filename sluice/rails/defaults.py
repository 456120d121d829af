"""The rails a Sluice process offers: each product rail, built with the services it needs."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from sluice.rails.evm_contract import EvmContractRail
from sluice.rails.evm_deposit import EvmDepositRail
from sluice.rails.registry import Rails
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.stacks.rail import StacksRail

if TYPE_CHECKING:
    from sluice.chain.registry import Registry
    from sluice.config import Settings
    from sluice.intents.signing import NonceAllocator


def default_rails(registry: Registry, settings: Settings, nonces: NonceAllocator) -> Rails:
    return Rails(
        [
            EvmContractRail(registry, settings, nonces),
            EvmDepositRail(registry),
            SolanaRail(),
            stacks_rail(registry, settings),
        ]
    )


def stacks_rail(registry: Registry, settings: Settings) -> StacksRail:
    """The Stacks rail over the registry's Stacks networks: the contracts their manifests record, the
    operator key of the settings (the EVM one; live or test as the network), their Stacks APIs."""

    @cache
    def operator_key(live: bool) -> bytes:
        from sluice.intents.signing import operator_account

        return bytes(operator_account(settings, live=live).key)

    contracts = {
        n.name: n.contracts.payments for n in registry if n.family == "stacks" and n.contracts.payments
    }
    return StacksRail(
        {name: contract for name, contract in contracts.items() if contract},
        operator_key=lambda network: operator_key(registry.network(network).live),
        discover_apis=True,
    )
