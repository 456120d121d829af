"""The Solana part of `sluice dev`: the local cluster's network, its fresh start, the demo intent.

The local cluster (sluice.rails.solana.devchain) keeps its state in memory, so each `sluice dev`
starts an empty one: what the indexer knew of the previous cluster (its cursors, checkpoint and
ledger rows of `solana-local`) describes a chain that no longer exists and is forgotten at start.
Intents keep their statuses.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

SOLANA_NETWORK = "solana-local"


async def forget_previous_cluster(engine: AsyncEngine) -> None:
    """Drops the indexer's state of the previous local cluster (its signatures and slots)."""
    async with engine.begin() as conn:
        for statement in (
            "DELETE FROM solana_cursors WHERE network = :n",
            "DELETE FROM ledger_entries WHERE network = :n",
            "DELETE FROM indexer_state WHERE network = :n",
        ):
            await conn.execute(text(statement), {"n": SOLANA_NETWORK})


def payout_address(solana: dict[str, Any]) -> str:
    """The demo merchant's Solana payout: the local cluster's `merchant` dev keypair."""
    return str(solana["keypairs"]["merchant"]["address"])


def fee_recipient(solana: dict[str, Any]) -> str:
    """The platform fee's recipient on the local cluster: its `platform` dev keypair."""
    return str(solana["keypairs"]["platform"]["address"])


async def create_demo_intent(client: httpx.AsyncClient) -> dict[str, Any] | None:
    """A USDC intent on the local cluster for the printed Solana checkout link; None (with the reason
    logged by the caller) when the demo merchant cannot be paid on Solana."""
    created = await client.post(
        "/v1/payment_intents",
        json={
            "network": SOLANA_NETWORK,
            "asset": "USDC",
            "amount": "25000000",
            "description": "sluice dev: Solana demo intent",
            "metadata": {"source": "sluice dev"},
        },
    )
    if created.status_code != 200:
        return {"error": created.json().get("error", {}).get("message", created.text[:300])}
    body = created.json()
    return {"id": body["id"], "checkout_url": body["checkout_url"]}
