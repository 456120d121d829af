"""Solana addresses: base58 public keys, and the wallets among them (points on the ed25519 curve).

A payer signs, and the merchant's and split recipients' token accounts are associated token
accounts derived from their wallet, so all three must be wallets (on the curve): an off-curve
address (a program-derived address) can neither sign nor own an associated token account that the
Solana Pay wallets derive. References and mints are any 32-byte key.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from sluice.errors import InvalidRequestError

BASE58_ALPHABET = frozenset("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


class InvalidSolanaAddressError(InvalidRequestError):
    """Raised when a string is not a base58 Solana public key, or not a wallet where one is needed."""

    code = "invalid_address"


def parse_pubkey(value: str, *, param: str = "address") -> Pubkey:
    """The 32-byte public key `value` spells in base58; raises InvalidSolanaAddressError otherwise."""
    text = value.strip() if isinstance(value, str) else value
    if not isinstance(text, str) or not 32 <= len(text) <= 44 or not set(text) <= BASE58_ALPHABET:
        raise InvalidSolanaAddressError(
            f"{value!r} is not a Solana address (32–44 base58 characters)", param=param
        )
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise InvalidSolanaAddressError(
            f"{value!r} is not a Solana address (base58 of 32 bytes)", param=param
        ) from None


def parse_wallet(value: str, *, param: str = "address") -> Pubkey:
    """A wallet address: a public key on the ed25519 curve (not a program-derived address)."""
    key = parse_pubkey(value, param=param)
    if not key.is_on_curve():
        raise InvalidSolanaAddressError(
            f"{value} is a program-derived address, not a wallet: it cannot sign or receive "
            "through an associated token account",
            param=param,
        )
    return key


def canonical_wallet(value: str, *, param: str = "address") -> str:
    """The canonical base58 spelling of wallet `value` (validated)."""
    return str(parse_wallet(value, param=param))
