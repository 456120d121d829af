"""Deployer keys: from an environment variable or a keystore file, never from the repository."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sluice.errors import KeyConfigError

if TYPE_CHECKING:  # eth_account is imported where keys are loaded (its import costs ~0.3 s)
    from eth_account.signers.local import LocalAccount

DEPLOYER_KEY_ENV = "SLUICE_DEPLOYER_KEY"
KEYSTORE_PASSWORD_ENV = "SLUICE_KEYSTORE_PASSWORD"  # noqa: S105 (a variable name, not a password)

#: anvil's well-known dev accounts (mnemonic "test test … junk"): public knowledge, local chains only.
ANVIL_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_OPERATOR_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"  # account 9
ANVIL_RELAYER_KEY = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"  # account 8
LOCAL_CHAIN_IDS = {31337, 1337}


def load_deployer(keystore: Path | None, chain_id: int) -> LocalAccount:
    """The deployer: a keystore file (password from env or prompt), else $SLUICE_DEPLOYER_KEY, else
    anvil's first dev account on a local chain only."""
    from eth_account import Account

    if keystore is not None:
        try:
            encrypted = json.loads(keystore.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise KeyConfigError(f"cannot read keystore {keystore}: {exc}") from exc
        password = os.environ.get(KEYSTORE_PASSWORD_ENV)
        if password is None:
            password = getpass.getpass(f"Password for {keystore}: ")
        try:
            key = Account.decrypt(encrypted, password)
        except ValueError as exc:
            raise KeyConfigError(f"cannot decrypt keystore {keystore}: wrong password?") from exc
        return Account.from_key(key)
    env_key = os.environ.get(DEPLOYER_KEY_ENV)
    if env_key:
        try:
            return Account.from_key(env_key)
        except (ValueError, TypeError) as exc:
            raise KeyConfigError(f"{DEPLOYER_KEY_ENV} is not a valid private key") from exc
    if chain_id in LOCAL_CHAIN_IDS:
        return Account.from_key(ANVIL_DEPLOYER_KEY)
    raise KeyConfigError(f"no deployer key: pass --keystore FILE or set {DEPLOYER_KEY_ENV}")
