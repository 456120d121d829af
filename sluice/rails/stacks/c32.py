"""Stacks addresses: c32check encoding (the Crockford-style base-32 of a version and a hash160).

No maintained Python package implements c32check, so this is the reference algorithm of
`c32check` (the JavaScript library @stacks/transactions uses); tests/rails/stacks compare it with
@stacks/transactions on random inputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from sluice.errors import SluiceValueError

C32_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_C32_INDEX = {c: i for i, c in enumerate(C32_ALPHABET)}

#: Address versions: single-signature (P2PKH) and multi-signature (P2SH) on each network.
MAINNET_SINGLE_SIG = 22  # SP…
MAINNET_MULTI_SIG = 20  # SM…
TESTNET_SINGLE_SIG = 26  # ST…
TESTNET_MULTI_SIG = 21  # SN…
MAINNET_VERSIONS = frozenset({MAINNET_SINGLE_SIG, MAINNET_MULTI_SIG})
TESTNET_VERSIONS = frozenset({TESTNET_SINGLE_SIG, TESTNET_MULTI_SIG})

Chain = Literal["mainnet", "testnet"]


class InvalidStacksAddressError(SluiceValueError):
    """Raised when a string is not a valid Stacks address (or not one of the expected network)."""

    code = "invalid_stacks_address"


def c32_encode(data: bytes) -> str:
    """c32 of `data`: the big-endian number in base 32, one extra '0' per leading zero byte."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, 32)
        digits.append(C32_ALPHABET[digit])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "0" * leading_zeros + "".join(reversed(digits))


def c32_decode(text: str, length: int) -> bytes:
    """The `length` bytes that `c32_encode` turned into `text` (canonical upper-case input only)."""
    number = 0
    for char in text:
        if char not in _C32_INDEX:
            raise InvalidStacksAddressError(f"{char!r} is not a c32 character")
        number = number * 32 + _C32_INDEX[char]
    leading_zeros = len(text) - len(text.lstrip("0"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    data = b"\0" * leading_zeros + body
    if len(data) != length:
        raise InvalidStacksAddressError(f"c32 payload is {len(data)} bytes, expected {length}")
    return data


def _checksum(version: int, hash160: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(bytes([version]) + hash160).digest()).digest()[:4]


def c32_address(version: int, hash160: bytes) -> str:
    """The address of a version (0-31) and a 20-byte hash160."""
    if not 0 <= version < 32 or len(hash160) != 20:
        raise InvalidStacksAddressError("an address needs a version below 32 and a 20-byte hash")
    return "S" + C32_ALPHABET[version] + c32_encode(hash160 + _checksum(version, hash160))


@dataclass(frozen=True, slots=True)
class StacksAddress:
    """A decoded standard principal: version and hash160."""

    version: int
    hash160: bytes

    @property
    def chain(self) -> Chain:
        return "mainnet" if self.version in MAINNET_VERSIONS else "testnet"

    def __str__(self) -> str:
        return c32_address(self.version, self.hash160)


def parse_address(address: str, chain: Chain | None = None) -> StacksAddress:
    """Decodes and checks a standard principal (`SP…`, `SM…`, `ST…`, `SN…`), optionally of one chain.

    Only the canonical upper-case form is accepted: addresses are compared as strings everywhere
    (the contract's print events, the ledger), so a second spelling of the same address is refused.
    """
    if not isinstance(address, str) or len(address) < 5 or address[0] != "S":
        raise InvalidStacksAddressError(f"{address!r} is not a Stacks address (SP…/SM…/ST…/SN…)")
    version = _C32_INDEX.get(address[1], -1)
    if version not in MAINNET_VERSIONS | TESTNET_VERSIONS:
        raise InvalidStacksAddressError(f"{address!r} has an unknown address version {address[1]!r}")
    payload = c32_decode(address[2:], 24)
    hash160, checksum = payload[:20], payload[20:]
    if checksum != _checksum(version, hash160):
        raise InvalidStacksAddressError(f"{address!r} has a wrong checksum")
    if c32_address(version, hash160) != address:
        raise InvalidStacksAddressError(f"{address!r} is not in canonical form")
    parsed = StacksAddress(version, hash160)
    if chain is not None and parsed.chain != chain:
        raise InvalidStacksAddressError(f"{address!r} is a {parsed.chain} address, expected {chain}")
    return parsed


def parse_principal(principal: str, chain: Chain | None = None) -> tuple[StacksAddress, str | None]:
    """A standard (`ST…`) or contract (`ST….name`) principal: its address and contract name."""
    address, dot, name = principal.partition(".")
    if dot and not _valid_contract_name(name):
        raise InvalidStacksAddressError(f"{principal!r} has an invalid contract name")
    return parse_address(address, chain), (name if dot else None)


def _valid_contract_name(name: str) -> bool:
    """Clarity contract names: a letter, then letters, digits, '-' or '_', at most 40 characters."""
    return (
        0 < len(name) <= 40
        and name[0].isascii()
        and name[0].isalpha()
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
    )


def address_from_public_key(public_key: bytes, chain: Chain) -> str:
    """The single-signature address of a compressed public key (hash160 = RIPEMD-160 of SHA-256)."""
    version = MAINNET_SINGLE_SIG if chain == "mainnet" else TESTNET_SINGLE_SIG
    return c32_address(version, hash160(public_key))


def hash160(data: bytes) -> bytes:
    """RIPEMD-160(SHA-256(data)); pycryptodome's RIPEMD-160, as OpenSSL 3 may not offer it."""
    from Crypto.Hash import RIPEMD160

    return RIPEMD160.new(hashlib.sha256(data).digest()).digest()
