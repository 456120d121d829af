"""Fee suggestions for the transactions a wallet signs: EIP-1559 from eth_feeHistory, or a legacy gasPrice."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from web3 import AsyncWeb3

from sluice.chain.registry import NetworkConfig

#: Blocks of history the priority fee is taken from, and the percentile of each block's tips.
FEE_HISTORY_BLOCKS = 10
REWARD_PERCENTILE = 50.0
#: maxFeePerGas = BASE_FEE_MULTIPLIER x next base fee + tip: still includable after six full blocks
#: (+12.5% each), so a wallet that sits on the transaction for a minute does not get stuck.
BASE_FEE_MULTIPLIER = 2


@dataclass(frozen=True)
class FeeSuggestion:
    """Fee fields of a transaction: `gas_price` for legacy networks, the two EIP-1559 caps otherwise."""

    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None

    def fields(self) -> dict[str, str]:
        """The fee fields as 0x-hex quantities, keyed as eth_sendTransaction and eth-account expect."""
        if self.gas_price is not None:
            return {"gasPrice": hex(self.gas_price)}
        assert self.max_fee_per_gas is not None and self.max_priority_fee_per_gas is not None
        return {
            "maxFeePerGas": hex(self.max_fee_per_gas),
            "maxPriorityFeePerGas": hex(self.max_priority_fee_per_gas),
        }


async def suggest_fees(w3: AsyncWeb3, network: NetworkConfig) -> FeeSuggestion:
    """What to offer the wallet for the network's fee model (it may still let the payer change it)."""
    if network.fee_model == "legacy":
        return FeeSuggestion(gas_price=int(await w3.eth.gas_price))
    history = await w3.eth.fee_history(FEE_HISTORY_BLOCKS, "latest", [REWARD_PERCENTILE])
    next_base_fee = int(history["baseFeePerGas"][-1])  # the last entry is the next block's base fee
    tips = [int(block[0]) for block in history.get("reward") or [] if block and int(block[0]) > 0]
    tip = int(statistics.median(tips)) if tips else int(await w3.eth.max_priority_fee)
    tip = max(tip, network.min_priority_fee)
    return FeeSuggestion(
        max_fee_per_gas=BASE_FEE_MULTIPLIER * next_base_fee + tip, max_priority_fee_per_gas=tip
    )
