"""The unsigned transactions a payer's wallet signs: approve + pay, pay with value, or permit + payWithPermit.

Every transaction is a dict in the shape `eth_sendTransaction` takes and eth-account signs as it is:
`from`, `to`, `data`, `value`, `nonce`, `gas`, `chainId` and either `maxFeePerGas` +
`maxPriorityFeePerGas` (EIP-1559) or `gasPrice` (legacy networks such as BSC), quantities as 0x-hex.
How the gas of a pay that follows an unmined approve is found: `sluice.chain.gas`. Re-exported here:
the operator's escrow calls (`sluice.chain.operator`), EIP-681 URIs and QR codes
(`sluice.chain.payment_uri`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address
from web3 import AsyncWeb3
from web3.contract import AsyncContract
from web3.exceptions import ContractLogicError

from sluice.chain._utils import (
    UnsignedTransaction,
    call_params,
    check_chain,
    checksum_address,
    sluice_contract,
    unsigned_transaction,
)
from sluice.chain.fees import suggest_fees
from sluice.chain.gas import GasSource, estimate_gas, gas_for_sequence, pay_gas_bound
from sluice.chain.intents import ContractKind, PaymentIntent
from sluice.chain.network_config import CONTRACT_NAMES, Asset, NetworkConfig
from sluice.chain.operator import OperatorAction, OperatorCall, build_operator_call
from sluice.chain.payment_uri import eip681_uri, qr_svg
from sluice.chain.permit import PermitRequest, build_permit_request, erc20, split_signature
from sluice.chain.revert import decode_revert, revert_data
from sluice.errors import (
    InsufficientBalanceError,
    InvalidPermitSignatureError,
    InvalidRequestError,
    PayerMismatchError,
    SluiceValueError,
    UnsupportedPaymentMethodError,
)

__all__ = [
    "OperatorAction",
    "OperatorCall",
    "PaymentTransactions",
    "PermitRequest",
    "build_operator_call",
    "build_payment_transactions",
    "build_permit_transaction",
    "build_reclaim_transaction",
    "default_method",
    "eip681_uri",
    "pay_gas_bound",
    "qr_svg",
]

PaymentMethod = Literal["approve", "permit", "native"]


def default_method(asset: Asset) -> PaymentMethod:
    """The method when the caller names none and only one fits: the native coin is paid with value;
    a token can be paid with `approve` or `permit`, so the caller must choose."""
    if asset.native:
        return "native"
    raise InvalidRequestError(
        f"{asset.symbol} is a token: give method 'approve' or 'permit'",
        param="method",
        code="parameter_missing",
    )


@dataclass
class PaymentTransactions:
    """What the payer signs, in order; for `permit`, first the typed data in `permit`, then
    `complete_permit(signature)` (or `build_permit_transaction`) gives the one transaction."""

    network: str
    chain_id: int
    kind: ContractKind
    method: PaymentMethod
    payer: str
    contract: str
    asset: Asset
    transactions: list[UnsignedTransaction] = field(default_factory=list)
    #: Names of the transactions, for the checkout page: reset_approval, approve, pay, deposit, …
    steps: list[str] = field(default_factory=list)
    gas_sources: list[GasSource] = field(default_factory=list)
    permit: PermitRequest | None = None
    _completion: Callable[[bytes | str, AsyncWeb3 | None], Awaitable[PaymentTransactions]] | None = field(
        default=None, repr=False, compare=False
    )

    async def complete_permit(
        self, permit_signature: bytes | str, *, w3: AsyncWeb3 | None = None
    ) -> PaymentTransactions:
        """The payWithPermit/depositWithPermit transaction for the wallet's signature of `permit`
        (through `w3`, by default the connection the permit was built with)."""
        if self._completion is None:
            raise UnsupportedPaymentMethodError(
                "only the permit method has a permit to sign", method=self.method
            )
        return await self._completion(permit_signature, w3)


@dataclass(frozen=True)
class _Payment:
    """One payment being built: the checked inputs and the contracts involved."""

    w3: AsyncWeb3
    network: NetworkConfig
    intent: PaymentIntent
    signature: bytes
    kind: ContractKind
    payer: ChecksumAddress
    asset: Asset
    contract: AsyncContract

    def result(self, method: PaymentMethod) -> PaymentTransactions:
        return PaymentTransactions(
            network=self.network.name,
            chain_id=self.network.chain_id,
            kind=self.kind,
            method=method,
            payer=self.payer,
            contract=self.contract.address,
            asset=self.asset,
        )

    def calldata(self, fn: str, *extra: Any) -> str:
        """Calldata of pay/deposit (and their permit variants); escrow deposits take the whole amount."""
        args: list[Any] = [self.intent.as_tuple(), self.signature]
        if self.kind == "escrow":
            args.append(self.intent.amount)
        return str(self.contract.encode_abi(fn, args=[*args, *extra]))


async def build_payment_transactions(
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: PaymentIntent,
    signature: bytes,
    kind: ContractKind,
    payer: str,
    method: PaymentMethod,
) -> PaymentTransactions:
    """The transactions `payer` signs to pay (`payments`) or fund (`escrow`) the operator-signed intent.

    approve → [approve(contract, amount), pay|deposit] (an allowance already big enough skips the
    approve; a smaller non-zero one is first reset to 0, which USDT on Ethereum requires);
    native → [pay|deposit with value]; permit → no transaction yet, `permit` to sign first.
    """
    p = await _prepare(w3, network, intent, signature, kind, payer)
    main = "pay" if kind == "payments" else "deposit"
    value = 0
    if method == "native":
        if not p.asset.native:
            raise UnsupportedPaymentMethodError(
                f"{p.asset.symbol} is a token: pay it with method 'approve' or 'permit'", method=method
            )
        balance = int(await w3.eth.get_balance(p.payer))
        value = intent.amount
        steps = [(main, p.contract.address, p.calldata(main))]
    elif method in ("approve", "permit"):
        if p.asset.native:
            raise UnsupportedPaymentMethodError(
                f"{p.asset.symbol} is the native coin: pay it with method 'native'", method=method
            )
        token = erc20(w3, intent.token)
        balance = int(await token.functions.balanceOf(p.payer).call())
        if method == "permit":
            _check_balance(p, balance)
            return await _permit_flow(p)
        allowance = int(await token.functions.allowance(p.payer, p.contract.address).call())
        steps = []
        if allowance < intent.amount:
            if allowance > 0:
                steps.append(("reset_approval", token.address, _approve(token, p.contract.address, 0)))
            steps.append(("approve", token.address, _approve(token, p.contract.address, intent.amount)))
        steps.append((main, p.contract.address, p.calldata(main)))
    else:
        raise UnsupportedPaymentMethodError(
            f"unknown payment method {method!r}; use 'approve', 'permit' or 'native'", method=str(method)
        )
    _check_balance(p, balance)

    calls = [call_params(p.payer, to, data, value if name == main else 0) for name, to, data in steps]
    gas, sources = await gas_for_sequence(w3, calls, bound=pay_gas_bound(intent))
    fees = await suggest_fees(w3, network)
    nonce = int(await w3.eth.get_transaction_count(p.payer, "pending"))
    result = p.result(method)
    for i, (call, (name, _, _)) in enumerate(zip(calls, steps, strict=True)):
        result.transactions.append(unsigned_transaction(call, nonce + i, gas[i], network.chain_id, fees))
        result.steps.append(name)
    result.gas_sources = sources
    return result


async def build_permit_transaction(
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: PaymentIntent,
    signature: bytes,
    kind: ContractKind,
    payer: str,
    permit_signature: bytes | str,
) -> PaymentTransactions:
    """The payWithPermit/depositWithPermit transaction, once the wallet signed the permit of the
    first call (value = intent amount, deadline = intent deadline, so nothing else needs carrying over)."""
    p = await _prepare(w3, network, intent, signature, kind, payer)
    if p.asset.native:
        raise UnsupportedPaymentMethodError(
            f"{p.asset.symbol} is the native coin: pay it with method 'native'", method="permit"
        )
    v, r, s = split_signature(permit_signature)
    token = erc20(w3, intent.token)
    _check_balance(p, int(await token.functions.balanceOf(p.payer).call()))
    allowance = int(await token.functions.allowance(p.payer, p.contract.address).call())
    if allowance < intent.amount:  # the contract ignores a failed permit: find out here, with a reason
        try:
            await token.functions.permit(
                p.payer, p.contract.address, intent.amount, intent.deadline, v, r, s
            ).call({"from": p.payer})
        except ContractLogicError as exc:
            reason = decode_revert(revert_data(exc)).describe()
            raise InvalidPermitSignatureError(
                f"the token rejects this permit ({reason}): sign the typed data of the permit step again"
            ) from exc
    fn = "payWithPermit" if kind == "payments" else "depositWithPermit"
    call = call_params(p.payer, p.contract.address, p.calldata(fn, intent.deadline, v, r, s))
    gas = await estimate_gas(w3, call)
    fees = await suggest_fees(w3, network)
    nonce = int(await w3.eth.get_transaction_count(p.payer, "pending"))
    result = p.result("permit")
    result.transactions.append(unsigned_transaction(call, nonce, gas, network.chain_id, fees))
    result.steps.append(fn)
    result.gas_sources.append("estimated")
    return result


async def build_reclaim_transaction(
    w3: AsyncWeb3, network: NetworkConfig, intent: PaymentIntent, payer: str
) -> UnsignedTransaction:
    """The payer's escrow reclaim once the intent's reclaim time has come (only the depositor may send it).
    The escrow keys an intent by its struct completed with the depositor, so `payer` fills an intent
    that names no payer."""
    await check_chain(w3, network)
    payer = checksum_address(payer, "payer")
    if int(intent.payer, 16) != 0 and intent.payer.lower() != payer.lower():
        raise PayerMismatchError(
            f"this intent's escrow can only be reclaimed by {to_checksum_address(intent.payer)}, not {payer}",
            expected=to_checksum_address(intent.payer),
            actual=payer,
        )
    held = replace(intent, payer=payer)
    escrow = sluice_contract(w3, network, "escrow")
    call = call_params(payer, escrow.address, str(escrow.encode_abi("reclaim", args=[held.as_tuple()])))
    gas = await estimate_gas(w3, call)
    fees = await suggest_fees(w3, network)
    nonce = int(await w3.eth.get_transaction_count(payer, "pending"))
    return unsigned_transaction(call, nonce, gas, network.chain_id, fees)


# ------------------------------------------------------------------------------------------ internals


async def _prepare(
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: PaymentIntent,
    signature: bytes,
    kind: ContractKind,
    payer: str,
) -> _Payment:
    payer = checksum_address(payer, "payer")
    if int(intent.payer, 16) != 0 and intent.payer.lower() != payer.lower():
        raise PayerMismatchError(
            f"this intent can only be paid by {to_checksum_address(intent.payer)}, not {payer}",
            expected=to_checksum_address(intent.payer),
            actual=payer,
        )
    if kind not in CONTRACT_NAMES:
        raise SluiceValueError(f"unknown contract kind {kind!r}; use 'payments' or 'escrow'")
    await check_chain(w3, network)
    asset = network.asset_for_token(intent.token)
    return _Payment(
        w3, network, intent, bytes(signature), kind, payer, asset, sluice_contract(w3, network, kind)
    )


def _approve(token: AsyncContract, spender: str, amount: int) -> str:
    return str(token.encode_abi("approve", args=[spender, amount]))


def _check_balance(p: _Payment, balance: int) -> None:
    if balance < p.intent.amount:
        raise InsufficientBalanceError(
            f"{p.payer} holds {p.asset.format_units(balance)} {p.asset.symbol}; the intent needs "
            f"{p.asset.format_units(p.intent.amount)}",
            balance=balance,
            required=p.intent.amount,
        )


async def _permit_flow(p: _Payment) -> PaymentTransactions:
    permit = await build_permit_request(
        p.w3,
        token=p.intent.token,
        owner=p.payer,
        spender=p.contract.address,
        value=p.intent.amount,
        deadline=p.intent.deadline,
        chain_id=p.network.chain_id,
    )
    result = p.result("permit")
    result.permit = permit

    async def complete(permit_signature: bytes | str, w3: AsyncWeb3 | None) -> PaymentTransactions:
        return await build_permit_transaction(
            w3 or p.w3, p.network, p.intent, p.signature, p.kind, p.payer, permit_signature
        )

    result._completion = complete
    return result
