"""TOTP second factor (RFC 6238 via pyotp) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp

ISSUER = "Sluice"
STEP = 30
RECOVERY_CODES = 10
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app scans (shown as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(
    secret: str, code: str, *, now: float | None = None, last_step: int | None = None
) -> int | None:
    """The time step `code` is valid for (the current one or one either side, for clock drift), or None.

    A step at or before `last_step` never matches, so an observed code cannot be replayed.
    """
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    at = time.time() if now is None else now
    current = int(at // STEP)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """`xxxxx-xxxxx` codes (~49 bits each) from an alphabet without look-alike characters."""
    return [
        "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(count)
    ]


def hash_recovery_code(code: str) -> str:
    normalized = code.strip().lower().replace(" ", "")
    if "-" not in normalized and len(normalized) == 10:
        normalized = normalized[:5] + "-" + normalized[5:]
    return hashlib.sha256(normalized.encode()).hexdigest()
