"""keccak-256 and EIP-55 addresses in C (safe-pysha3), for the code that hashes thousands of times a
second (intent signatures, event decoding, intent views).

eth_utils gives the same values through layers of Python, and its keccak loads pycryptodome through
cffi, whose C-declaration parser alone costs ~0.1 s of every process start (the indexer's included).
"""

from __future__ import annotations

from functools import lru_cache

from sha3 import keccak_256

_HEX = frozenset("0123456789abcdef")


def keccak(data: bytes) -> bytes:
    """keccak-256 of `data` (eth_utils.keccak's value)."""
    digest: bytes = keccak_256(data).digest()
    return digest


@lru_cache(maxsize=65536)
def checksum(address: str) -> str:
    """EIP-55 form of a 20-byte hex address (with or without 0x, any case), as eth_utils'
    `to_checksum_address`; ValueError for anything else. Memoized: addresses repeat a lot."""
    lower = address.lower().removeprefix("0x")
    if len(lower) != 40 or not _HEX.issuperset(lower):
        raise ValueError(f"not a 20-byte hex address: {address!r}")
    digest = keccak_256(lower.encode()).hexdigest()
    return "0x" + "".join(c.upper() if d in "89abcdef" else c for c, d in zip(lower, digest, strict=False))
