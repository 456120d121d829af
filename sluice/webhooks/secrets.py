"""Webhook secrets: `whsec_…` generation, Standard Webhooks signing, and AES-256-GCM at rest.

Signing follows https://www.standardwebhooks.com: the HMAC-SHA256 key is the base64 after `whsec_`,
the signed content is `{webhook-id}.{webhook-timestamp}.{body}`, and the header carries
`v1,<base64 signature>`, several separated by spaces while an old secret is still valid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sluice.config import Environment, Settings
from sluice.errors import KeyConfigError

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
_NONCE_BYTES = 12
KEY_FILE_NAME = "webhook_secret.key"


def new_secret() -> str:
    """A `whsec_` secret: 32 random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    content = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    digest = hmac.new(_key_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per valid secret, space-separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def signing_headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


# ------------------------------------------------------------------------- encryption at rest


class SecretBox:
    """AES-256-GCM with a random 96-bit nonce; the endpoint id is the associated data, so a
    ciphertext copied onto another endpoint's row does not decrypt."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyConfigError("the webhook secret key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, bound_to: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), bound_to.encode())

    def decrypt(self, blob: bytes, bound_to: str) -> str:
        try:
            plain = self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], bound_to.encode())
        except InvalidTag as exc:
            raise KeyConfigError(
                "a webhook secret does not decrypt: SLUICE_WEBHOOK_SECRET_KEY is not the key it was "
                "encrypted with"
            ) from exc
        return plain.decode()


def parse_key(text: str) -> bytes:
    """32 bytes given as 64 hex digits (0x optional) or base64."""
    text = text.strip()
    hex_text = text.removeprefix("0x")
    if len(hex_text) == 64:
        try:
            return bytes.fromhex(hex_text)
        except ValueError:
            pass
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyConfigError("the webhook secret key must be 32 bytes as 64 hex digits or base64") from exc
    if len(key) != 32:
        raise KeyConfigError(f"the webhook secret key must be 32 bytes, got {len(key)}")
    return key


def secret_box(settings: Settings) -> SecretBox:
    """The box for the configured key; outside production a key generated once into data_dir."""
    if settings.webhook_secret_key is not None:
        return _box(parse_key(settings.webhook_secret_key.get_secret_value()))
    if settings.webhook_secret_key_file is not None:
        try:
            text = settings.webhook_secret_key_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyConfigError(f"cannot read SLUICE_WEBHOOK_SECRET_KEY_FILE: {exc}") from exc
        return _box(parse_key(text))
    if settings.env == Environment.production:
        raise KeyConfigError("no webhook secret key: set SLUICE_WEBHOOK_SECRET_KEY(_FILE)")
    return _box(_generated_key(settings.data_dir / KEY_FILE_NAME))


@lru_cache(maxsize=8)
def _box(key: bytes) -> SecretBox:
    return SecretBox(key)


def _generated_key(path: Path) -> bytes:
    """Reads the development key, creating it (mode 0600, atomically: concurrent processes agree)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_bytes(32).hex() + "\n")
        try:
            os.link(tmp, path)  # fails if another process won the race; its key is then used
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return parse_key(path.read_text(encoding="utf-8"))
