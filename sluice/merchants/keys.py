"""API key format: `sk_test_…`, `pk_live_…`, `rk_test_…`; stored only as a sha256 hash."""

from __future__ import annotations

import hashlib
import re
import secrets

from sluice.models.merchant import ApiKeyKind, Mode

PREFIXES: dict[ApiKeyKind, str] = {
    ApiKeyKind.secret: "sk",
    ApiKeyKind.publishable: "pk",
    ApiKeyKind.restricted: "rk",
}
KEY_PATTERN = re.compile(r"^(sk|pk|rk)_(test|live)_[A-Za-z0-9]{32}$")
#: How much of the key stays visible in listings.
VISIBLE = 12


def generate(kind: ApiKeyKind, mode: Mode) -> str:
    """A new key: prefix, mode, then 32 random base-62 characters (~190 bits)."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    body = "".join(secrets.choice(alphabet) for _ in range(32))
    return f"{PREFIXES[kind]}_{mode.value}_{body}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse(key: str) -> tuple[ApiKeyKind, Mode] | None:
    """Kind and mode of a well-formed key, or None."""
    match = KEY_PATTERN.match(key)
    if match is None:
        return None
    kind = {v: k for k, v in PREFIXES.items()}[match.group(1)]
    return kind, Mode(match.group(2))


def visible_prefix(key: str) -> str:
    return key[:VISIBLE]
