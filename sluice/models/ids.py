"""Prefixed random ids (`pi_…`, `re_…`), as Stripe's: the prefix tells the object type."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def random_token(length: int = 24) -> str:
    """`length` base-62 characters from one call to the OS's random source (rejection sampling keeps
    the characters uniform)."""
    out: list[str] = []
    while len(out) < length:
        out.extend(_ALPHABET[b % 62] for b in secrets.token_bytes(length * 2) if b < 248)
    return "".join(out[:length])


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_token()}"
