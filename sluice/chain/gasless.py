"""Gasless payments of SluicePayments intents: what the payer signs, and the relayer's call.

Two ways, both for ERC-20 intents of the fee-splitting contract (automatic capture):

- `eip3009`: the token implements EIP-3009 `receiveWithAuthorization` (USDC): the payer signs a
  `ReceiveWithAuthorization` to the contract whose nonce is the intent's digest
  (`sluice.chain.authorization`); the relayer sends `payWithAuthorization`.
- `permit2`: any ERC-20 the payer approved to the canonical Permit2 once: the payer signs a
  `PermitWitnessTransferFrom` with the intent as witness (`sluice.chain.permit2`); the relayer sends
  `payWithPermit2`.

Everything the payer signs is derived from the intent alone (validity window = the intent's deadline,
the EIP-3009 nonce = the intent's digest, the Permit2 nonce from the intent's nonce), so the relay
step rebuilds it instead of trusting what the client sends back, and checks the signature against
it before any gas is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from eth_utils import to_checksum_address
from web3 import AsyncWeb3

from sluice.chain._utils import (
    UnsignedTransaction,
    call_params,
    check_chain,
    checksum_address,
    sluice_contract,
    unsigned_transaction,
)
from sluice.chain.authorization import ReceiveAuthorization, authorization_for_intent
from sluice.chain.fees import suggest_fees
from sluice.chain.gas import estimate_gas
from sluice.chain.intents import PaymentIntent
from sluice.chain.network_config import NetworkConfig
from sluice.chain.permit import _optional_call, erc20, permit_domain
from sluice.chain.permit2 import PERMIT2_ADDRESS, Permit2Transfer, permit2_transfer
from sluice.errors import (
    InsufficientBalanceError,
    InvalidRequestError,
    PayerMismatchError,
    UnsupportedPaymentMethodError,
)

GaslessMethod = Literal["eip3009", "permit2"]
GASLESS_METHODS: tuple[GaslessMethod, ...] = ("eip3009", "permit2")

#: keccak256 of EIP-3009's ReceiveWithAuthorization type (USDC's RECEIVE_WITH_AUTHORIZATION_TYPEHASH).
RECEIVE_WITH_AUTHORIZATION_TYPEHASH = bytes.fromhex(
    "d099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8"
)
_EIP3009_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "RECEIVE_WITH_AUTHORIZATION_TYPEHASH",
        "inputs": [],
        "outputs": [{"name": "", "type": "bytes32"}],
        "stateMutability": "view",
    },
    {
        "type": "function",
        "name": "authorizationState",
        "inputs": [{"name": "authorizer", "type": "address"}, {"name": "nonce", "type": "bytes32"}],
        "outputs": [{"name": "", "type": "bool"}],
        "stateMutability": "view",
    },
]


@dataclass(frozen=True)
class GaslessRequest:
    """What the payer signs (eth_signTypedData_v4), and for Permit2 the one-time approval if missing."""

    method: GaslessMethod
    methods: tuple[GaslessMethod, ...]  # every gasless method the token supports, best first
    typed_data: dict[str, Any]
    #: permit2 only: the payer's `approve(Permit2, max)`, needed once per token (the payer pays its gas)
    approval: UnsignedTransaction | None = None


def jsonable(typed: dict[str, Any]) -> dict[str, Any]:
    """Typed data as JSON carries it: bytes as 0x-hex, integers of the message as decimal strings
    (JavaScript numbers lose precision past 2**53; wallets take uint256 values as strings)."""

    def convert(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return "0x" + bytes(value).hex()
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return str(value)
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    return {**typed, "message": convert(typed["message"])}


async def supported_methods(w3: AsyncWeb3, token: str) -> tuple[GaslessMethod, ...]:
    """The gasless methods for `token`, best first: EIP-3009 when the token has it (the payer needs
    no transaction at all), Permit2 always (needs the payer's one-time approval, with gas). Permit2
    is the cheaper relay (~8k gas less: its dense nonce bitmap instead of a fresh authorization
    slot, see docs/contracts.md), but sparing the payer that approval comes first."""
    contract = w3.eth.contract(address=to_checksum_address(token), abi=_EIP3009_ABI)
    typehash = await _optional_call(contract, "RECEIVE_WITH_AUTHORIZATION_TYPEHASH")
    has_state = await _optional_call(contract, "authorizationState", token, bytes(32)) is not None
    if has_state and typehash is not None and bytes(typehash) == RECEIVE_WITH_AUTHORIZATION_TYPEHASH:
        return ("eip3009", "permit2")
    return ("permit2",)


def _check_intent(network: NetworkConfig, intent: PaymentIntent, payer: str) -> str:
    payer = checksum_address(payer, "payer")
    if int(intent.token, 16) == 0:
        raise UnsupportedPaymentMethodError(
            "the native coin cannot be paid without gas: pay it with method 'native'", method="gasless"
        )
    if intent.reclaim_after != 0 or intent.allow_partial:
        raise UnsupportedPaymentMethodError(
            "gasless payment is for capture_method=automatic intents; escrow deposits need the payer's "
            "transaction",
            method="gasless",
        )
    if int(intent.payer, 16) != 0 and intent.payer.lower() != payer.lower():
        raise PayerMismatchError(
            f"this intent can only be paid by {to_checksum_address(intent.payer)}, not {payer}",
            expected=to_checksum_address(intent.payer),
            actual=payer,
        )
    return payer


async def _authorization(
    w3: AsyncWeb3, network: NetworkConfig, intent: PaymentIntent, payer: str
) -> ReceiveAuthorization:
    domain = await permit_domain(w3, intent.token, network.chain_id, payer)
    return authorization_for_intent(
        intent,
        payer=payer,
        chain_id=network.chain_id,
        contract=network.contract("payments"),
        token_name=str(domain["name"]),
        token_version=str(domain.get("version", "1")),
    )


def _permit2(network: NetworkConfig, intent: PaymentIntent, payer: str) -> Permit2Transfer:
    return permit2_transfer(
        intent, payer=payer, chain_id=network.chain_id, contract=network.contract("payments")
    )


async def _choose(
    w3: AsyncWeb3, intent: PaymentIntent, method: str | None
) -> tuple[GaslessMethod, tuple[GaslessMethod, ...]]:
    if method is not None and method not in GASLESS_METHODS:
        raise UnsupportedPaymentMethodError(
            f"unknown gasless method {method!r}; use 'eip3009' or 'permit2'", method=str(method)
        )
    methods = await supported_methods(w3, intent.token)
    if method is None:
        return methods[0], methods
    if method not in methods:
        raise UnsupportedPaymentMethodError(
            f"token {to_checksum_address(intent.token)} does not implement EIP-3009; use 'permit2'",
            method=method,
        )
    return method, methods


async def _check_balance(w3: AsyncWeb3, intent: PaymentIntent, payer: str) -> None:
    balance = int(await erc20(w3, intent.token).functions.balanceOf(payer).call())
    if balance < intent.amount:
        raise InsufficientBalanceError(
            f"{payer} holds {balance} base units of the token; the intent needs {intent.amount}",
            balance=balance,
            required=intent.amount,
        )


async def build_gasless_request(
    w3: AsyncWeb3, network: NetworkConfig, intent: PaymentIntent, payer: str, method: str | None = None
) -> GaslessRequest:
    """The typed data `payer` signs to pay `intent` without gas (`method` by default the best the
    token supports), plus Permit2's one-time approval transaction when the payer has not given it."""
    payer = _check_intent(network, intent, payer)
    await check_chain(w3, network)
    chosen, methods = await _choose(w3, intent, method)
    await _check_balance(w3, intent, payer)
    if chosen == "eip3009":
        auth = await _authorization(w3, network, intent, payer)
        return GaslessRequest(chosen, methods, jsonable(auth.typed_data()))
    transfer = _permit2(network, intent, payer)
    approval = None
    token = erc20(w3, intent.token)
    if int(await token.functions.allowance(payer, PERMIT2_ADDRESS).call()) < intent.amount:
        call = call_params(
            payer, token.address, str(token.encode_abi("approve", args=[PERMIT2_ADDRESS, 2**256 - 1]))
        )
        gas = await estimate_gas(w3, call)
        fees = await suggest_fees(w3, network)
        nonce = int(await w3.eth.get_transaction_count(to_checksum_address(payer), "pending"))
        approval = unsigned_transaction(call, nonce, gas, network.chain_id, fees)
    return GaslessRequest(chosen, methods, transfer.typed_data(), approval)


def _signature_bytes(signature: str | bytes) -> bytes:
    try:
        raw = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else bytes(signature)
    except ValueError:
        raise InvalidRequestError(
            "signature is not hex", param="signature", code="invalid_signature"
        ) from None
    if len(raw) != 65:
        raise InvalidRequestError(
            f"a signature has 65 bytes (r, s, v), got {len(raw)}", param="signature", code="invalid_signature"
        )
    v = raw[64] + 27 if raw[64] < 27 else raw[64]
    if v not in (27, 28):
        raise InvalidRequestError(f"signature has v={raw[64]}", param="signature", code="invalid_signature")
    return raw[:64] + bytes([v])


def _recover(typed: dict[str, Any], signature: bytes) -> str:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    try:
        return str(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))
    except Exception as exc:  # eth-keys refuses s/r out of range
        raise InvalidRequestError(
            f"the signature cannot be recovered ({exc})", param="signature", code="invalid_signature"
        ) from exc


async def build_relay_call(
    w3: AsyncWeb3,
    network: NetworkConfig,
    intent: PaymentIntent,
    intent_signature: bytes,
    payer: str,
    method: str,
    signature: str | bytes,
    relayer: str,
) -> tuple[dict[str, Any], int]:
    """The relayer's payWithAuthorization/payWithPermit2 call (its params and estimated gas), once the
    payer's signature is checked against what the payer was asked to sign: a wrong one is a 400
    (`invalid_signature`) and costs nothing; a call that would revert raises TransactionRevertedError."""
    payer = _check_intent(network, intent, payer)
    await check_chain(w3, network)
    chosen, _ = await _choose(w3, intent, method)
    raw = _signature_bytes(signature)
    contract = sluice_contract(w3, network, "payments")
    if chosen == "eip3009":
        auth = await _authorization(w3, network, intent, payer)
        typed = auth.typed_data()
        args: list[Any] = [
            intent.as_tuple(),
            intent_signature,
            payer,
            auth.valid_after,
            auth.valid_before,
            raw[64],
            raw[:32],
            raw[32:64],
        ]
        fn = "payWithAuthorization"
    else:
        transfer = _permit2(network, intent, payer)
        typed = transfer.typed_data()
        args = [intent.as_tuple(), intent_signature, payer, transfer.nonce, raw]
        fn = "payWithPermit2"
    signer = _recover(typed, raw)
    if signer.lower() != payer.lower():
        raise InvalidRequestError(
            f"the signature is {signer}'s, not the payer {payer}'s: sign the typed data returned for this "
            "payer and method",
            param="signature",
            code="invalid_signature",
        )
    await _check_balance(w3, intent, payer)
    if chosen == "permit2":
        allowance = int(await erc20(w3, intent.token).functions.allowance(payer, PERMIT2_ADDRESS).call())
        if allowance < intent.amount:
            raise InvalidRequestError(
                f"{payer} has not approved Permit2 ({PERMIT2_ADDRESS}) for this token: send the approval "
                "transaction first",
                param="payer",
                code="permit2_not_approved",
            )
    call = call_params(relayer, contract.address, str(contract.encode_abi(fn, args=args)))
    gas = await estimate_gas(w3, call)  # raises TransactionRevertedError with the contract's reason
    return dict(call), gas
