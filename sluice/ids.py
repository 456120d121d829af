"""Prefixed random ids (`pi_…`, `re_…`), as Stripe's: the prefix tells the object type."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Byte b < 248 -> _ALPHABET[b % 62] (248 = 4 * 62); bytes 248-255 are rejected.
_BASE62 = bytes(ord(_ALPHABET[b % 62]) if b < 248 else 0 for b in range(256))
_REJECTED = bytes(range(248, 256))


def random_token(length: int = 24) -> str:
    """`length` base-62 characters from the OS's random source (rejection sampling keeps the
    characters uniform: bytes 248-255 are dropped, the rest taken modulo 62, in one `translate`)."""
    out = b""
    while len(out) < length:
        out += secrets.token_bytes(length * 2).translate(_BASE62, _REJECTED)
    return out[:length].decode()


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_token()}"
