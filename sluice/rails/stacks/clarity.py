"""Clarity values: the consensus serialization the chain, SIP-018 hashing and the Stacks API use.

No maintained Python package serializes Clarity values, so this covers exactly the types Sluice
uses (ints, buffers, bools, optionals, responses, principals, lists, tuples, strings), both ways.
tests/rails/stacks check every type byte for byte against @stacks/transactions' `serializeCV`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sluice.errors import SluiceValueError
from sluice.rails.stacks.c32 import StacksAddress, parse_principal

# Type prefixes (SIP-005).
_INT, _UINT, _BUFF, _TRUE, _FALSE, _STD_PRINCIPAL, _CONTRACT_PRINCIPAL = range(7)
_OK, _ERR, _NONE, _SOME, _LIST, _TUPLE, _ASCII, _UTF8 = range(7, 15)
_U128 = 1 << 128


class ClarityDecodeError(SluiceValueError):
    """Raised when bytes are not a well-formed serialized Clarity value."""

    code = "clarity_decode_error"


class ClarityValue:
    """A Clarity value that serializes itself."""

    def serialize(self) -> bytes:
        raise NotImplementedError

    def hex(self) -> str:
        """0x-prefixed hex, as the Stacks API and wallets (`stx_callContract`) take arguments."""
        return "0x" + self.serialize().hex()


@dataclass(frozen=True)
class UInt(ClarityValue):
    value: int

    def serialize(self) -> bytes:
        if not 0 <= self.value < _U128:
            raise SluiceValueError(f"{self.value} does not fit a Clarity uint (0 … 2^128-1)")
        return bytes([_UINT]) + self.value.to_bytes(16, "big")


@dataclass(frozen=True)
class Int(ClarityValue):
    value: int

    def serialize(self) -> bytes:
        if not -(_U128 >> 1) <= self.value < _U128 >> 1:
            raise SluiceValueError(f"{self.value} does not fit a Clarity int")
        return bytes([_INT]) + self.value.to_bytes(16, "big", signed=True)


@dataclass(frozen=True)
class Buffer(ClarityValue):
    value: bytes

    def serialize(self) -> bytes:
        return bytes([_BUFF]) + len(self.value).to_bytes(4, "big") + self.value


@dataclass(frozen=True)
class Bool(ClarityValue):
    value: bool

    def serialize(self) -> bytes:
        return bytes([_TRUE if self.value else _FALSE])


@dataclass(frozen=True)
class NoneValue(ClarityValue):
    def serialize(self) -> bytes:
        return bytes([_NONE])


@dataclass(frozen=True)
class Some(ClarityValue):
    value: ClarityValue

    def serialize(self) -> bytes:
        return bytes([_SOME]) + self.value.serialize()


@dataclass(frozen=True)
class Ok(ClarityValue):
    value: ClarityValue

    def serialize(self) -> bytes:
        return bytes([_OK]) + self.value.serialize()


@dataclass(frozen=True)
class Err(ClarityValue):
    value: ClarityValue

    def serialize(self) -> bytes:
        return bytes([_ERR]) + self.value.serialize()


@dataclass(frozen=True)
class Principal(ClarityValue):
    """A standard (`ST…`) or contract (`ST….name`) principal, validated on creation."""

    value: str

    def __post_init__(self) -> None:
        parse_principal(self.value)

    def serialize(self) -> bytes:
        address, name = parse_principal(self.value)
        head = bytes([address.version]) + address.hash160
        if name is None:
            return bytes([_STD_PRINCIPAL]) + head
        return bytes([_CONTRACT_PRINCIPAL]) + head + bytes([len(name)]) + name.encode("ascii")


@dataclass(frozen=True)
class List(ClarityValue):
    items: tuple[ClarityValue, ...]

    def serialize(self) -> bytes:
        return (
            bytes([_LIST]) + len(self.items).to_bytes(4, "big") + b"".join(i.serialize() for i in self.items)
        )


@dataclass(frozen=True)
class Tuple(ClarityValue):
    """A tuple; serialized with its keys in sorted order, as Clarity does."""

    fields: Mapping[str, ClarityValue]

    def serialize(self) -> bytes:
        out = [bytes([_TUPLE]), len(self.fields).to_bytes(4, "big")]
        for key in sorted(self.fields):
            name = key.encode("ascii")
            out += [bytes([len(name)]), name, self.fields[key].serialize()]
        return b"".join(out)


@dataclass(frozen=True)
class StringAscii(ClarityValue):
    value: str

    def serialize(self) -> bytes:
        data = self.value.encode("ascii")
        return bytes([_ASCII]) + len(data).to_bytes(4, "big") + data


@dataclass(frozen=True)
class StringUtf8(ClarityValue):
    value: str

    def serialize(self) -> bytes:
        data = self.value.encode("utf-8")
        return bytes([_UTF8]) + len(data).to_bytes(4, "big") + data


def optional(value: ClarityValue | None) -> ClarityValue:
    return NoneValue() if value is None else Some(value)


def list_of(items: Sequence[ClarityValue]) -> List:
    return List(tuple(items))


# ------------------------------------------------------------------------------------ decoding


def deserialize(data: bytes) -> ClarityValue:
    """The one value serialized in `data`; trailing bytes are an error."""
    value, end = _read(data, 0)
    if end != len(data):
        raise ClarityDecodeError(f"{len(data) - end} trailing bytes after a Clarity value")
    return value


def deserialize_hex(text: str) -> ClarityValue:
    try:
        return deserialize(bytes.fromhex(text.removeprefix("0x")))
    except ValueError as exc:
        if isinstance(exc, SluiceValueError):
            raise
        raise ClarityDecodeError(f"not hex: {text[:20]!r}…") from exc


def _take(data: bytes, pos: int, size: int) -> tuple[bytes, int]:
    end = pos + size
    if end > len(data):
        raise ClarityDecodeError("truncated Clarity value")
    return data[pos:end], end


def _u32(data: bytes, pos: int) -> tuple[int, int]:
    raw, pos = _take(data, pos, 4)
    return int.from_bytes(raw, "big"), pos


def _read(data: bytes, pos: int) -> tuple[ClarityValue, int]:
    prefix, pos = _take(data, pos, 1)
    kind = prefix[0]
    if kind in (_INT, _UINT):
        raw, pos = _take(data, pos, 16)
        return (
            Int(int.from_bytes(raw, "big", signed=True)) if kind == _INT else UInt(int.from_bytes(raw, "big"))
        ), pos
    if kind == _BUFF:
        size, pos = _u32(data, pos)
        raw, pos = _take(data, pos, size)
        return Buffer(raw), pos
    if kind in (_TRUE, _FALSE):
        return Bool(kind == _TRUE), pos
    if kind in (_STD_PRINCIPAL, _CONTRACT_PRINCIPAL):
        raw, pos = _take(data, pos, 21)
        address = str(StacksAddress(raw[0], raw[1:]))
        if kind == _STD_PRINCIPAL:
            return Principal(address), pos
        name_size, pos = _take(data, pos, 1)
        name, pos = _take(data, pos, name_size[0])
        return Principal(f"{address}.{name.decode('ascii')}"), pos
    if kind in (_OK, _ERR, _SOME):
        inner, pos = _read(data, pos)
        return {_OK: Ok, _ERR: Err, _SOME: Some}[kind](inner), pos
    if kind == _NONE:
        return NoneValue(), pos
    if kind == _LIST:
        count, pos = _u32(data, pos)
        items = []
        for _ in range(count):
            item, pos = _read(data, pos)
            items.append(item)
        return List(tuple(items)), pos
    if kind == _TUPLE:
        count, pos = _u32(data, pos)
        fields: dict[str, ClarityValue] = {}
        for _ in range(count):
            key_size, pos = _take(data, pos, 1)
            key, pos = _take(data, pos, key_size[0])
            fields[key.decode("ascii")], pos = _read(data, pos)
        return Tuple(fields), pos
    if kind in (_ASCII, _UTF8):
        size, pos = _u32(data, pos)
        raw, pos = _take(data, pos, size)
        return (StringAscii(raw.decode("ascii")) if kind == _ASCII else StringUtf8(raw.decode("utf-8"))), pos
    raise ClarityDecodeError(f"unknown Clarity type prefix 0x{kind:02x}")


def to_python(value: ClarityValue) -> Any:
    """Plain Python: uint/int -> int, buff -> bytes, principal/string -> str, none -> None, some -> the
    value, list -> list, tuple -> dict, ok/err -> the value (responses are never in our events)."""
    match value:
        case UInt(v) | Int(v):
            return v
        case Buffer(v):
            return v
        case Bool(v):
            return v
        case Principal(v) | StringAscii(v) | StringUtf8(v):
            return v
        case NoneValue():
            return None
        case Some(v) | Ok(v) | Err(v):
            return to_python(v)
        case List(items):
            return [to_python(i) for i in items]
        case Tuple(fields):
            return {k: to_python(v) for k, v in fields.items()}
    raise ClarityDecodeError(f"cannot convert {value!r}")
