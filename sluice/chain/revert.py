"""Decoding revert data into the contracts' custom errors: callers see `IntentExpired(...)`, not hex."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode
from eth_utils import keccak
from hexbytes import HexBytes

from sluice.contracts import load_artifact
from sluice.errors import ArtifactError

#: Artifacts whose errors are decoded: the Sluice contracts (SafeERC20's included) and OpenZeppelin's
#: ERC-20/EIP-2612 errors through the dev tokens.
ERROR_SOURCES = ("SluicePayments", "SluiceEscrow", "SluiceDeposits", "DepositForwarder", "DevUSDC", "DevUSDT")


@dataclass(frozen=True)
class DecodedRevert:
    """A revert's custom error name and arguments; `name` None when the selector is unknown."""

    name: str | None
    args: tuple[Any, ...]
    data: bytes

    def describe(self) -> str:
        if self.name is None:
            return f"unknown error 0x{self.data.hex()}" if self.data else "no revert data"
        return f"{self.name}({', '.join(_show(a) for a in self.args)})"


def _show(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return str(item["type"])


@cache
def _errors() -> dict[bytes, tuple[str, list[str]]]:
    table: dict[bytes, tuple[str, list[str]]] = {
        keccak(text="Error(string)")[:4]: ("Error", ["string"]),
        keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"]),
    }
    from sluice.chain.permit2 import permit2_abi

    abis = [permit2_abi()]  # Permit2's errors (InvalidSigner, InvalidNonce, …) surface in payWithPermit2
    for name in ERROR_SOURCES:
        with contextlib.suppress(ArtifactError):
            abis.append(load_artifact(name).abi)
    for abi in abis:
        for item in abi:
            if item["type"] == "error":
                types = [_abi_type(i) for i in item["inputs"]]
                table[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    return table


def decode_revert(data: bytes) -> DecodedRevert:
    known = _errors().get(data[:4])
    if known is None:
        return DecodedRevert(None, (), data)
    name, types = known
    try:
        return DecodedRevert(name, tuple(decode(types, data[4:])), data)
    except Exception:  # malformed arguments: keep the name
        return DecodedRevert(name, (), data)


def revert_data(exc: BaseException) -> bytes:
    """The raw revert data carried by a web3 exception (ContractLogicError and friends), or b""."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if isinstance(data, str) and data.startswith("0x"):
        with contextlib.suppress(ValueError):
            return bytes(HexBytes(data))
    return b""
