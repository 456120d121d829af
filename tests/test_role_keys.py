"""The operator (intent signer) and relayer keys come from settings the same way, each its own role."""

from __future__ import annotations

import pytest

from sluice.chain.keys import ANVIL_OPERATOR_KEY, ANVIL_RELAYER_KEY
from sluice.config import Settings
from sluice.errors import KeyConfigError
from sluice.intents.signing import _account, operator_account, relayer_account


@pytest.mark.parametrize(
    ("get", "role", "dev_key"),
    [(operator_account, "operator", ANVIL_OPERATOR_KEY), (relayer_account, "relayer", ANVIL_RELAYER_KEY)],
)
def test_each_role_reads_its_own_key_value_then_file_then_the_dev_key(tmp_path, get, role, dev_key):
    dev = Settings(env="development")
    assert get(dev, live=False).address == _account(dev_key).address
    with pytest.raises(KeyConfigError, match=f"SLUICE_{role.upper()}_KEY"):
        get(dev, live=True)  # a live network never falls back to a well-known key
    key = "0x" + "42" * 32
    assert get(Settings(env="test", **{f"{role}_key": key}), live=True).address == _account(key).address
    path = tmp_path / "key"
    path.write_text(key + "\n")
    from_file = Settings(env="test", **{f"{role}_key_file": path})
    assert get(from_file, live=True).address == _account(key).address
    with pytest.raises(KeyConfigError, match=f"cannot read SLUICE_{role.upper()}_KEY_FILE"):
        get(Settings(env="test", **{f"{role}_key_file": tmp_path / "missing"}), live=True)
    with pytest.raises(KeyConfigError, match=f"the {role} key is not a valid private key"):
        get(Settings(env="test", **{f"{role}_key": "0x1234"}), live=True)
