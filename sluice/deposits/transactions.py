"""Transactions on deposit addresses other than sweeps: the merchant's rescue of a wrong token (an
unsigned transaction for the merchant's wallet) and a merchant-signed refund for the relayer, which the
relayer nonce manager signs and sends (sluice.chain.relayer: the one sender of the relayer key).

Both are estimated first, so one the factory would refuse raises TransactionRevertedError naming the
contract's error (NotMerchant, NotRescuable, InvalidMerchantSignature, RefundAlreadyUsed, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sluice.deposits.calldata import refund_calldata, rescue_calldata
from sluice.deposits.terms import DepositTerms, factory_address

if TYPE_CHECKING:
    from web3 import AsyncWeb3

    from sluice.chain._utils import UnsignedTransaction
    from sluice.chain.network_config import NetworkConfig


@dataclass(frozen=True)
class RefundCall:
    """The relayer's `refund` call (to, data, value) and its estimated gas, for
    `RelayerNonceManager.send` / `Relayers.relay` (which pick the nonce and the fees)."""

    call: dict[str, str]
    gas: int


async def build_rescue(
    w3: AsyncWeb3, network: NetworkConfig, terms: DepositTerms, token: str | None
) -> UnsignedTransaction:
    """The unsigned `rescue(terms, token)` the merchant's wallet signs: the whole balance of a token the
    intent did not ask for (None: the native coin) goes to the merchant."""
    return await _unsigned(w3, network, terms.merchant, rescue_calldata(terms, token).to_0x_hex())


async def build_refund(
    w3: AsyncWeb3,
    network: NetworkConfig,
    terms: DepositTerms,
    *,
    token: str | None,
    to: str,
    amount: int,
    deadline: int,
    merchant_signature: bytes,
    relayer: str,
) -> RefundCall:
    """`refund(...)` from `relayer`: `amount` of `token` from the deposit address to `to`, as the
    merchant signed (`refund_typed_data`); estimated, so a refusal raises TransactionRevertedError."""
    from sluice.chain._utils import call_params, check_chain
    from sluice.chain.gas import estimate_gas

    await check_chain(w3, network)
    factory = factory_address(network)
    data = refund_calldata(terms, token, to, amount, deadline, merchant_signature).to_0x_hex()
    gas = await estimate_gas(w3, call_params(relayer, factory, data))
    return RefundCall({"to": factory, "data": data, "value": "0x0"}, gas)


async def _unsigned(w3: AsyncWeb3, network: NetworkConfig, sender: str, data: str) -> UnsignedTransaction:
    from eth_utils import to_checksum_address

    from sluice.chain._utils import call_params, check_chain, unsigned_transaction
    from sluice.chain.fees import suggest_fees
    from sluice.chain.gas import estimate_gas

    await check_chain(w3, network)
    call = call_params(sender, factory_address(network), data)
    gas = await estimate_gas(w3, call)
    fees = await suggest_fees(w3, network)
    nonce = int(await w3.eth.get_transaction_count(to_checksum_address(sender), "pending"))
    return unsigned_transaction(call, nonce, gas, network.chain_id, fees)
