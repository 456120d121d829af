"""Following sluice-payments through the Stacks Blockchain API: which transactions carry new contract
events, and which of them are final. The indexer stores what `new_transactions` returns and feeds it
to `StacksRail.decode`; the cursor is the newest transaction id it has stored.

`/extended/v1/contract/{contract_id}/events` lists the contract's print events newest first; a page
walk stops at the cursor. Each transaction is then read whole (`/extended/v1/tx/{tx_id}`: block,
position, status, `canonical`, every event), so decoding never depends on the events page's shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sluice.rails.stacks.api import StacksApi


@dataclass(frozen=True)
class ObservedTransactions:
    """New transactions of the contract, oldest first, and where the chain's tip was."""

    transactions: list[dict[str, Any]]
    tip_height: int
    #: The newest transaction id seen: pass it back as `after` next time (unchanged when none).
    cursor: str | None

    def final(self, confirmations: int) -> list[dict[str, Any]]:
        """Those at least `confirmations` deep (a transaction in the tip block has depth 1)."""
        return [t for t in self.transactions if self.tip_height - int(t["block_height"]) + 1 >= confirmations]


async def new_transactions(
    api: StacksApi, contract_id: str, *, after: str | None, page_size: int = 50, max_pages: int = 100
) -> ObservedTransactions:
    """The contract's transactions newer than the one with id `after` (every one when None)."""
    tip = int((await api.info())["stacks_tip_height"])
    tx_ids: list[str] = []
    offset = 0
    for _ in range(max_pages):
        page = await api.contract_events(contract_id, offset=offset, limit=page_size)
        reached = False
        for event in page:
            tx_id = str(event["tx_id"])
            if tx_id == after:
                reached = True
                break
            if tx_id not in tx_ids:
                tx_ids.append(tx_id)
        if reached or len(page) < page_size:
            break
        offset += page_size
    transactions = []
    for tx_id in reversed(tx_ids):  # oldest first
        tx = await api.transaction(tx_id)
        if tx is not None:
            transactions.append(tx)
    transactions.sort(key=lambda t: (int(t["block_height"]), int(t.get("tx_index", 0))))
    cursor = tx_ids[0] if tx_ids else after
    return ObservedTransactions(transactions=transactions, tip_height=tip, cursor=cursor)
