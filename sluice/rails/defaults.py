"""The rails a Sluice process offers: each product rail, built with the services it needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sluice.rails.evm_contract import EvmContractRail
from sluice.rails.registry import Rails
from sluice.rails.solana.rail import SolanaRail

if TYPE_CHECKING:
    from sluice.chain.registry import Registry
    from sluice.config import Settings
    from sluice.intents.signing import NonceAllocator


def default_rails(registry: Registry, settings: Settings, nonces: NonceAllocator) -> Rails:
    return Rails([EvmContractRail(registry, settings, nonces), SolanaRail()])
