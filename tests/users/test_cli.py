"""`sluice users create` and `sluice platform issue-key` against a real database."""

from __future__ import annotations

import re

import psycopg
import pytest
from typer.testing import CliRunner

from launcher.cli import app
from sluice.config import get_settings

pytestmark = pytest.mark.db


@pytest.fixture
def cli(db_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("SLUICE_DASHBOARD_SECRET_KEY", "22" * 32)
    monkeypatch.setenv("SLUICE_DASHBOARD_URL", "https://pay.example/dashboard")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_users_create_prints_an_invitation_link_and_adds_the_role(cli, db_url):
    created = cli.invoke(app, ["merchants", "create", "Acme"])
    assert created.exit_code == 0, created.output
    merchant_id = re.search(r"acct_[A-Za-z0-9]+", created.output).group(0)
    result = cli.invoke(
        app, ["users", "create", "Ann@Example.com", "--merchant", merchant_id, "--role", "support"]
    )
    assert result.exit_code == 0, result.output
    assert "https://pay.example/dashboard/accept?token=" in result.output.replace("\n", "")
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT u.email, u.password_hash, m.role FROM users u JOIN memberships m ON m.user_id = u.id"
        ).fetchone()
    assert row == ("ann@example.com", None, "support")
    again = cli.invoke(app, ["users", "create", "ann@example.com"])
    assert again.exit_code == 2 and "email_taken" in again.output


def test_platform_issue_key_is_shown_once_and_stored_hashed(cli, db_url):
    result = cli.invoke(app, ["platform", "issue-key", "--description", "ops"])
    assert result.exit_code == 0, result.output
    secret = re.search(r"plk_[A-Za-z0-9]{40}", result.output).group(0)
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT prefix, key_hash, description FROM platform_api_keys").fetchone()
    assert stored[0] == secret[:12] and secret not in stored[1] and stored[2] == "ops"


def test_merchants_create_takes_a_payout_address_per_chain_family(cli, db_url):
    """`--payout FAMILY=ADDRESS` sets another family's payout address, checked by that family's rail;
    bad input is a clear error and creates nothing."""
    wallet = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
    created = cli.invoke(
        app,
        [
            "merchants",
            "create",
            "Two chains",
            "--payout-address",
            "0x" + "cd" * 20,
            "--payout",
            f"solana={wallet}",
        ],
    )
    assert created.exit_code == 0, created.output
    merchant_id = re.search(r"acct_[A-Za-z0-9]+", created.output).group(0)
    with psycopg.connect(db_url) as conn:
        (addresses,) = conn.execute(
            "SELECT payout_addresses FROM merchants WHERE id = %s", (merchant_id,)
        ).fetchone()
    assert addresses["solana"] == wallet and addresses["evm"].lower() == "0x" + "cd" * 20

    malformed = cli.invoke(app, ["merchants", "create", "Bad", "--payout", "solana"])
    assert malformed.exit_code == 2 and "FAMILY=ADDRESS" in malformed.output
    unknown = cli.invoke(app, ["merchants", "create", "Bad", "--payout", "bitcoin=bc1qxyz"])
    assert unknown.exit_code == 2 and "unknown_family" in unknown.output
    not_a_wallet = cli.invoke(app, ["merchants", "create", "Bad", "--payout", "solana=0x" + "cd" * 20])
    assert not_a_wallet.exit_code == 2 and "invalid_address" in not_a_wallet.output
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM merchants WHERE name = 'Bad'").fetchone() == (0,)
