"""Signed, expiring links for password resets and invitations.

A token is `base64url(user id, purpose, expiry) . base64url(HMAC-SHA256)`; the MAC also covers the
user's current password hash, so a token stops working once the password it was sent for changes
(it is single-use without being stored).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache
from typing import Literal

from sluice.config import Environment, Settings
from sluice.errors import KeyConfigError
from sluice.users.errors import InvalidTokenError
from sluice.webhooks.secrets import _generated_key, parse_key

Purpose = Literal["reset", "invite"]
KEY_FILE_NAME = "dashboard_secret.key"


def signing_key(settings: Settings) -> bytes:
    """The configured key; outside production one generated once into data_dir."""
    if settings.dashboard_secret_key is not None:
        return parse_key(settings.dashboard_secret_key.get_secret_value())
    if settings.dashboard_secret_key_file is not None:
        try:
            return parse_key(settings.dashboard_secret_key_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeyConfigError(f"cannot read SLUICE_DASHBOARD_SECRET_KEY_FILE: {exc}") from exc
    if settings.env == Environment.production:
        raise KeyConfigError("no dashboard secret key: set SLUICE_DASHBOARD_SECRET_KEY(_FILE)")
    return _generated(str(settings.data_dir / KEY_FILE_NAME))


@lru_cache(maxsize=8)
def _generated(path: str) -> bytes:
    from pathlib import Path

    return _generated_key(Path(path))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: bytes, password_hash: str | None) -> bytes:
    return hmac.new(key, payload + b"|" + (password_hash or "").encode(), hashlib.sha256).digest()


def issue(key: bytes, user_id: str, purpose: Purpose, expires_at: int, password_hash: str | None) -> str:
    payload = f"{user_id}|{purpose}|{expires_at}".encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload, password_hash))}"


def read_user_id(token: str) -> str:
    """The user a token claims to be for (not yet verified: `verify` checks it against that user)."""
    return _parts(token)[0]


def verify(key: bytes, token: str, purpose: Purpose, now: int, password_hash: str | None) -> str:
    """The user id, when the token is genuine, for `purpose`, unexpired and unused."""
    user_id, token_purpose, expires_at, payload, mac = _parts(token)
    if not hmac.compare_digest(mac, _mac(key, payload, password_hash)) or token_purpose != purpose:
        raise InvalidTokenError("this link is not valid, or was already used")
    if expires_at < now:
        raise InvalidTokenError("this link has expired; ask for a new one")
    return user_id


def _parts(token: str) -> tuple[str, str, int, bytes, bytes]:
    try:
        payload_text, mac_text = token.strip().split(".", 1)
        payload = _unb64(payload_text)
        user_id, purpose, expires = payload.decode().split("|")
        return user_id, purpose, int(expires), payload, _unb64(mac_text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidTokenError("this link is not valid") from exc
