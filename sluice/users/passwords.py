"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile) and the password rule."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sluice.errors import InvalidRequestError

MIN_LENGTH = 10
MAX_LENGTH = 200
_hasher = PasswordHasher()
#: Verified against when the email is unknown, so that an unknown email costs as long as a known one.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def check_policy(password: str, *, param: str = "password") -> None:
    """Length is the rule that matters (NIST 800-63B); no composition rules."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidRequestError(
            f"a password is {MIN_LENGTH} to {MAX_LENGTH} characters", param=param, code="password_invalid"
        )


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not a hash is stored (a user without a password never matches)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
