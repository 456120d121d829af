"""Helpers shared by the payer's and the operator's transaction builders."""

from __future__ import annotations

from typing import cast

from eth_typing import ChecksumAddress
from eth_utils import is_address, to_checksum_address
from web3 import AsyncWeb3
from web3.contract import AsyncContract
from web3.types import TxParams

from sluice.chain.fees import FeeSuggestion
from sluice.chain.intents import ContractKind
from sluice.chain.network_config import CONTRACT_NAMES, NetworkConfig
from sluice.contracts import load_artifact
from sluice.errors import NetworkError, SluiceValueError

#: An unsigned transaction as wallets (eth_sendTransaction) and eth-account take it: 0x-hex quantities.
UnsignedTransaction = dict[str, str]


async def check_chain(w3: AsyncWeb3, network: NetworkConfig) -> None:
    """Refuses an RPC endpoint of another chain (a misconfigured URL would build unusable transactions)."""
    served = int(await w3.eth.chain_id)
    if served != network.chain_id:
        raise NetworkError(
            f"the RPC endpoint serves chain id {served}, but {network.name} is chain id {network.chain_id}; "
            f"check {network.rpc_env}"
        )


def sluice_contract(w3: AsyncWeb3, network: NetworkConfig, kind: ContractKind) -> AsyncContract:
    """The network's SluicePayments or SluiceEscrow (raises ContractNotDeployedError when there is none)."""
    address = network.contract(kind)
    return w3.eth.contract(address=to_checksum_address(address), abi=load_artifact(CONTRACT_NAMES[kind]).abi)


def checksum_address(value: str, what: str) -> ChecksumAddress:
    """`value` EIP-55 checksummed; raises SluiceValueError naming `what` when it is no address."""
    if not isinstance(value, str) or not is_address(value) or int(value, 16) == 0:
        raise SluiceValueError(f"{what} {value!r} is not an address")
    return to_checksum_address(value)


def call_params(sender: str, to: str, data: str, value: int = 0) -> TxParams:
    """eth_call / eth_estimateGas parameters, quantities as hex (as they go over JSON-RPC)."""
    return cast(TxParams, {"from": sender, "to": to, "data": data, "value": hex(value)})


def unsigned_transaction(
    call: TxParams, nonce: int, gas: int, chain_id: int, fees: FeeSuggestion
) -> UnsignedTransaction:
    """The wallet-ready transaction: the call plus nonce, gas, chain id and the fee fields."""
    return {
        "from": str(call["from"]),
        "to": str(call["to"]),
        "data": str(call["data"]),
        "value": str(call["value"]),
        "nonce": hex(nonce),
        "gas": hex(gas),
        "chainId": hex(chain_id),
        **fees.fields(),
    }
