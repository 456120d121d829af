"""Helpers of the Solana rail's tests (imported by name: `from solana_fixtures import …`; several test
folders have a `conftest` module, so importing helpers from one depends on collection order)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from solders.pubkey import Pubkey

from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.networks import LOCAL_USDC_MINT
from sluice.rails.solana.payment import SolanaPayment, Split
from sluice.rails.solana.transaction import associated_token_account


def make_payment(
    merchant: Pubkey,
    *,
    asset: str = "USDC",
    amount: int = 25_000_000,
    splits: tuple[tuple[Pubkey, int], ...] = (),
    intent_id: str = "pi_test",
    expires_in: timedelta = timedelta(minutes=15),
) -> SolanaPayment:
    return SolanaPayment(
        intent_id=intent_id,
        network="solana-local",
        asset=asset,
        mint=LOCAL_USDC_MINT if asset == "USDC" else None,
        decimals=6 if asset == "USDC" else 9,
        amount=amount,
        merchant=str(merchant),
        reference=os.urandom(32),
        splits=tuple(Split(str(r), bps) for r, bps in splits),
        expires_at=datetime.now(UTC) + expires_in,
    )


def usdc_balance(cluster: LocalCluster, owner: Pubkey) -> int:
    """Base units of dev USDC in `owner`'s associated token account (0 when it does not exist)."""
    from solders.token.state import TokenAccount

    account = cluster.svm.get_account(associated_token_account(owner, Pubkey.from_string(LOCAL_USDC_MINT)))
    return TokenAccount.from_bytes(bytes(account.data)).amount if account else 0
