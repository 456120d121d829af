"""Calldata of SluiceDeposits' `sweep`, `refund` and `rescue`, and the merchant's refund typed data.

Built with eth-abi from the compiled ABI (no hand encoding); the sweep job, the API's refund and
the merchant's rescue transaction all use these.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from eth_abi import encode
from hexbytes import HexBytes

from sluice.chain.hashing import checksum, keccak
from sluice.chain.intents import ZERO_ADDRESS
from sluice.deposits.terms import FACTORY_CONTRACT, TERMS_ABI_TYPE, DepositTerms, deposit_salt

#: EIP-712 domain name of SluiceDeposits (version "1"; chain id and factory address complete it).
DOMAIN_NAME = "Sluice Deposits"
REFUND_TYPES: dict[str, list[dict[str, str]]] = {
    "Refund": [
        {"name": "deposit", "type": "bytes32"},
        {"name": "token", "type": "address"},
        {"name": "to", "type": "address"},
        {"name": "amount", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


@cache
def _selector(name: str) -> bytes:
    from sluice.contracts import load_artifact

    for entry in load_artifact(FACTORY_CONTRACT).abi:
        if entry.get("type") == "function" and entry["name"] == name:
            types = ",".join(_abi_type(i) for i in entry["inputs"])
            return keccak(f"{name}({types})".encode())[:4]
    raise KeyError(name)


def _abi_type(param: dict[str, Any]) -> str:
    """The canonical type of an ABI parameter, tuples spelled out."""
    kind: str = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


def sweep_calldata(deposits: Sequence[DepositTerms]) -> HexBytes:
    """`sweep(DepositTerms[])`: sweeps every address that holds its amount (anyone may send it)."""
    body = encode([f"{TERMS_ABI_TYPE}[]"], [[t.as_abi() for t in deposits]])
    return HexBytes(_selector("sweep") + body)


def refund_calldata(
    terms: DepositTerms, token: str | None, to: str, amount: int, deadline: int, merchant_signature: bytes
) -> HexBytes:
    """`refund(...)`: sent by the relayer with the merchant's signature of `refund_typed_data`."""
    body = encode(
        [TERMS_ABI_TYPE, "address", "address", "uint256", "uint256", "bytes"],
        [
            terms.as_abi(),
            checksum(token) if token else ZERO_ADDRESS,
            checksum(to),
            amount,
            deadline,
            bytes(merchant_signature),
        ],
    )
    return HexBytes(_selector("refund") + body)


def rescue_calldata(terms: DepositTerms, token: str | None) -> HexBytes:
    """`rescue(terms, token)`: the merchant takes a token the intent did not ask for (native when None)."""
    body = encode([TERMS_ABI_TYPE, "address"], [terms.as_abi(), checksum(token) if token else ZERO_ADDRESS])
    return HexBytes(_selector("rescue") + body)


def refund_typed_data(
    factory: str, terms: DepositTerms, token: str | None, to: str, amount: int, deadline: int
) -> dict[str, Any]:
    """The EIP-712 `Refund` the merchant signs (eth_signTypedData_v4 shape)."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **REFUND_TYPES,
        },
        "primaryType": "Refund",
        "domain": {
            "name": DOMAIN_NAME,
            "version": "1",
            "chainId": terms.chain_id,
            "verifyingContract": checksum(factory),
        },
        "message": {
            "deposit": "0x" + deposit_salt(factory, terms).hex(),
            "token": checksum(token) if token else ZERO_ADDRESS,
            "to": checksum(to),
            "amount": amount,
            "deadline": deadline,
        },
    }
