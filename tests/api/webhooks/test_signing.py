"""Standard Webhooks signatures, checked with the reference `standardwebhooks` package; secrets
encrypted at rest with AES-256-GCM."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from sluice.config import Settings
from sluice.errors import KeyConfigError
from sluice.webhooks.secrets import SecretBox, new_secret, parse_key, secret_box, signing_headers

BODY = b'{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{}}}'


def test_signatures_verify_with_the_reference_library():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    headers = signing_headers([secret], "evt_1", int(time.time()), BODY)
    assert headers["webhook-id"] == "evt_1" and headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers)["id"] == "evt_1"


@pytest.mark.parametrize("tamper", ["body", "timestamp", "secret", "id"])
def test_signatures_fail_when_anything_changes(tamper):
    secret = new_secret()
    now = int(time.time())
    headers = signing_headers([secret], "evt_1", now, BODY)
    body = BODY
    if tamper == "body":
        body = BODY.replace(b"succeeded", b"canceled")
    elif tamper == "timestamp":
        headers["webhook-timestamp"] = str(now - 1)
    elif tamper == "secret":
        secret = new_secret()
    else:
        headers["webhook-id"] = "evt_2"
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)


def test_old_timestamps_are_refused_by_receivers():
    secret = new_secret()
    headers = signing_headers([secret], "evt_1", int(time.time()) - 3600, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_during_a_roll_both_secrets_verify():
    old, new = new_secret(), new_secret()
    headers = signing_headers([new, old], "evt_1", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers) and Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_secrets_are_encrypted_and_bound_to_their_endpoint():
    box = SecretBox(bytes(range(32)))
    secret = new_secret()
    blob = box.encrypt(secret, "we_1")
    assert secret.encode() not in blob and box.decrypt(blob, "we_1") == secret
    assert box.encrypt(secret, "we_1") != blob  # a fresh nonce every time
    with pytest.raises(KeyConfigError):
        box.decrypt(blob, "we_2")
    with pytest.raises(KeyConfigError):
        SecretBox(bytes(32)).decrypt(blob, "we_1")


def test_keys_parse_from_hex_or_base64_and_must_be_32_bytes():
    assert parse_key("ab" * 32) == bytes([0xAB]) * 32
    assert parse_key("0x" + "ab" * 32) == bytes([0xAB]) * 32
    assert parse_key(base64.b64encode(b"k" * 32).decode()) == b"k" * 32
    with pytest.raises(KeyConfigError):
        parse_key("ab" * 16)


def test_production_requires_a_key_and_development_generates_one(tmp_path, monkeypatch):
    monkeypatch.delenv("SLUICE_WEBHOOK_SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="SLUICE_WEBHOOK_SECRET_KEY"):
        Settings(env="production", operator_key="0x" + "55" * 32, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="ALLOW_PRIVATE"):
        Settings(  # type: ignore[call-arg]
            env="production",
            operator_key="0x" + "55" * 32,
            webhook_secret_key="ab" * 32,
            webhook_allow_private=True,
            _env_file=None,
        )
    dev = Settings(env="development", data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    blob = secret_box(dev).encrypt("whsec_x", "we_1")
    key_file = tmp_path / "webhook_secret.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600
    assert secret_box(dev).decrypt(blob, "we_1") == "whsec_x"  # the same key on the next start
