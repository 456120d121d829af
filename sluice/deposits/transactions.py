"""Transactions on deposit addresses other than sweeps: the merchant's rescue of a wrong token (an
unsigned transaction for the merchant's wallet) and a merchant-signed refund relayed by the relayer.

Both are estimated first, so one the factory would refuse raises TransactionRevertedError naming the
contract's error (NotMerchant, NotRescuable, InvalidMerchantSignature, RefundAlreadyUsed, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sluice.deposits.calldata import refund_calldata, rescue_calldata
from sluice.deposits.terms import DepositTerms, factory_address

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import AsyncWeb3

    from sluice.chain._utils import UnsignedTransaction
    from sluice.chain.network_config import NetworkConfig


@dataclass(frozen=True)
class SignedRefund:
    """A refund signed by the relayer key, ready for eth_sendRawTransaction."""

    transaction: UnsignedTransaction
    raw_transaction: bytes
    hash: str


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
    relayer: LocalAccount,
) -> SignedRefund:
    """`refund(...)` signed by the relayer: `amount` of `token` from the deposit address to `to`, as
    the merchant signed (`refund_typed_data`)."""
    data = refund_calldata(terms, token, to, amount, deadline, merchant_signature).to_0x_hex()
    tx = await _unsigned(w3, network, relayer.address, data)
    signed = relayer.sign_transaction(tx)  # type: ignore[arg-type]
    return SignedRefund(tx, bytes(signed.raw_transaction), signed.hash.to_0x_hex())


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
