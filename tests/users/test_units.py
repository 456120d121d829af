"""Pure parts of sign-in: the role table, TOTP steps and replay, recovery codes, signed links,
password hashing."""

from __future__ import annotations

import pyotp
import pytest

from sluice.models.users import Role
from sluice.users import passwords, tokens, totp
from sluice.users.errors import InvalidTokenError, RoleForbiddenError
from sluice.users.roles import Permission, allows, require

KEY = bytes(range(32))


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.owner, set(Permission)),
        (Role.admin, set(Permission)),
        (Role.developer, {Permission.view, Permission.webhooks, Permission.keys}),
        (Role.support, {Permission.view, Permission.cancel, Permission.refund}),
        (Role.analyst, {Permission.view}),
    ],
)
def test_each_role_has_exactly_its_permissions(role, allowed):
    assert {p for p in Permission if allows(role, p)} == allowed
    for p in set(Permission) - allowed:
        with pytest.raises(RoleForbiddenError, match=p.value):
            require(role, p)


def test_a_code_matches_its_step_and_the_neighbours_only():
    secret = totp.new_secret()
    now = 1_800_000_015.0
    step = int(now // 30)
    for offset in (-1, 0, 1):
        code = pyotp.TOTP(secret).at(now + offset * 30)
        assert totp.matching_step(secret, code, now=now) == step + offset
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(now + 90), now=now) is None
    assert totp.matching_step(secret, "12345", now=now) is None
    assert totp.matching_step(secret, "abcdef", now=now) is None


def test_a_used_step_is_never_accepted_again():
    secret = totp.new_secret()
    now = 1_800_000_015.0
    code = pyotp.TOTP(secret).at(now)
    step = totp.matching_step(secret, code, now=now)
    assert step is not None
    assert totp.matching_step(secret, code, now=now, last_step=step) is None
    later = pyotp.TOTP(secret).at(now + 30)
    assert totp.matching_step(secret, later, now=now, last_step=step) == step + 1


def test_recovery_codes_are_distinct_and_hash_the_same_however_typed():
    codes = totp.new_recovery_codes()
    assert len(set(codes)) == 10 and all(len(c) == 11 and c[5] == "-" for c in codes)
    code = codes[0]
    assert totp.hash_recovery_code(code.upper()) == totp.hash_recovery_code(f" {code} ")
    assert totp.hash_recovery_code(code.replace("-", "")) == totp.hash_recovery_code(code)
    assert totp.hash_recovery_code(codes[1]) != totp.hash_recovery_code(code)


def test_a_link_is_bound_to_user_purpose_expiry_and_password():
    token = tokens.issue(KEY, "usr_1", "reset", 2_000, "hash-a")
    assert tokens.verify(KEY, token, "reset", 1_999, "hash-a") == "usr_1"
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.verify(KEY, token, "reset", 2_001, "hash-a")
    with pytest.raises(InvalidTokenError, match="already used"):
        tokens.verify(KEY, token, "reset", 1_000, "hash-b")  # the password changed since
    with pytest.raises(InvalidTokenError):
        tokens.verify(KEY, token, "invite", 1_000, "hash-a")
    with pytest.raises(InvalidTokenError):
        tokens.verify(bytes(32), token, "reset", 1_000, "hash-a")
    _, mac = token.split(".")
    forged = tokens.issue(KEY, "usr_2", "reset", 2_000, "hash-a").split(".")[0] + "." + mac
    with pytest.raises(InvalidTokenError):
        tokens.verify(KEY, forged, "reset", 1_000, "hash-a")
    with pytest.raises(InvalidTokenError):
        tokens.verify(KEY, "garbage", "reset", 1_000, "hash-a")


def test_passwords_hash_with_argon2id_and_verify():
    stored = passwords.hash_password("a long enough password")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106 low-memory profile
    assert passwords.verify_password(stored, "a long enough password")
    assert not passwords.verify_password(stored, "a long enough passwore")
    assert not passwords.verify_password(None, "a long enough password")
    assert not passwords.verify_password("not a hash", "x")
    with pytest.raises(ValueError, match="10 to 200"):
        passwords.hash_password("short")
