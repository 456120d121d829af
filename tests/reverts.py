"""Asserting custom-error reverts the same way on eth-tester and anvil."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak

from sluice.chain.permit2 import VENDOR_FILE
from sluice.paths import ARTIFACTS_DIR


@dataclass
class Revert:
    """What a failed call or transaction reverted with: custom error name and decoded arguments."""

    name: str | None = None
    args: tuple[Any, ...] = ()
    data: bytes = b""


@cache
def _errors() -> dict[bytes, tuple[str, list[str]]]:
    """Selector → (name, argument types) for every error in every artifact (OZ errors included)."""
    import json

    table: dict[bytes, tuple[str, list[str]]] = {}
    for path in [*ARTIFACTS_DIR.glob("*.json"), VENDOR_FILE]:
        for item in json.loads(path.read_text())["abi"]:
            if item["type"] == "error":
                types = [_abi_type(i) for i in item["inputs"]]
                sig = f"{item['name']}({','.join(types)})"
                table[keccak(text=sig)[:4]] = (item["name"], types)
    table[keccak(text="Error(string)")[:4]] = ("Error", ["string"])
    table[keccak(text="Panic(uint256)")[:4]] = ("Panic", ["uint256"])
    return table


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return item["type"]


def revert_data(exc: BaseException) -> bytes:
    """The raw revert data of a web3 (anvil) or eth-tester exception."""
    data = getattr(exc, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        return bytes.fromhex(data["data"][2:])
    for arg in exc.args:
        if isinstance(arg, bytes):
            return arg
        if isinstance(arg, str):
            if arg.startswith("0x"):
                with contextlib.suppress(ValueError):
                    return bytes.fromhex(arg[2:])
            # eth-tester words it `execution reverted: b'…'`, or b"…" when the data holds a ' byte.
            marker = "execution reverted: "
            if marker in arg and arg.split(marker, 1)[1].startswith(("b'", 'b"')):
                return ast.literal_eval(arg.split(marker, 1)[1])  # type: ignore[no-any-return]
            if marker in arg:  # eth-tester decoded an Error(string) into its text: encode it back
                return keccak(text="Error(string)")[:4] + encode(["string"], [arg.split(marker, 1)[1]])
    return b""


def decode_revert(data: bytes) -> Revert:
    known = _errors().get(data[:4])
    if known is None:
        return Revert(None, (), data)
    name, types = known
    return Revert(name, tuple(decode(types, data[4:])), data)


def _as_abi_value(value: Any) -> Any:
    """eth-abi decodes addresses in lower case; tests pass checksummed ones."""
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return value.lower()
    return value


@contextlib.contextmanager
def reverts(name: str | None = None, *args: Any) -> Iterator[Revert]:
    """Expects the block to revert with custom error `name` (and exactly `args` when given)."""
    result = Revert()
    try:
        yield result
    except Exception as exc:  # web3 and eth-tester raise unrelated types
        decoded = decode_revert(revert_data(exc))
        result.name, result.args, result.data = decoded.name, decoded.args, decoded.data
        if name is not None:
            assert decoded.name == name, (
                f"reverted with {decoded.name or decoded.data.hex()!r}, expected {name!r}: {exc!r}"
            )
        if args:
            expected = tuple(_as_abi_value(a) for a in args)
            assert decoded.args == expected, f"{name} args {decoded.args!r} != expected {expected!r}"
        return
    raise AssertionError(f"expected a revert with {name!r}, but the call succeeded")


def transact(fn: Any, sender: str, value: int = 0) -> dict[str, Any]:
    """Sends a contract function call and returns its receipt, raising on a revert."""
    w3 = fn.w3
    tx = fn.transact({"from": sender, "value": value})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    if receipt["status"] != 1:
        raise AssertionError(f"transaction reverted: {receipt}")
    return dict(receipt)


def call_reverts(fn: Callable[[], Any], name: str) -> Revert:
    """Functional form of `reverts` for one-liners."""
    with reverts(name) as r:
        fn()
    return r
