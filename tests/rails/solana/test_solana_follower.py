"""Following the local cluster step by step, committing each step atomically (as the indexer will),
and restarting from the last commit after a crash: nothing lost, nothing counted twice."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from solders.keypair import Keypair

from sluice.ledger.entries import LedgerEntry
from sluice.rails.solana.follower import FollowStep, follow_step
from sluice.rails.solana.payment import SolanaPayment
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.transaction import decode_transaction
from sluice.rails.solana.watcher import ReferenceWatcher

from solana_fixtures import make_payment


@dataclass
class Books:
    """What the database would hold: entries keyed like the ledger's natural key, cursors, finality."""

    entries: dict[tuple[str, str, int], LedgerEntry] = field(default_factory=dict)
    cursors: dict[str, str | None] = field(default_factory=dict)
    pending: tuple[str, ...] = ()
    final: set[str] = field(default_factory=set)

    def commit(self, step: FollowStep) -> None:
        for entry in step.entries:
            self.entries.setdefault((entry.network, entry.tx_id, entry.position.tx_index), entry)
        self.cursors = dict(step.cursors)
        self.pending = step.pending
        self.final |= set(step.final)


def restart(rpc: SolanaRpc, books: Books, payments: list[SolanaPayment]) -> ReferenceWatcher:
    """A fresh process: a watcher built from what was committed, nothing else."""
    watcher = ReferenceWatcher(rpc)
    watcher.watch(payments)
    watcher.cursors.update(books.cursors)
    return watcher


async def pay(rpc: SolanaRpc, payment: SolanaPayment, payer: Keypair) -> str:
    built = await SolanaRail().build(payment, str(payer.pubkey()), rpc=rpc)
    tx = decode_transaction(built.transactions[0]["transaction"])
    tx.partial_sign([payer], tx.message.recent_blockhash)
    return await rpc.send_transaction(tx)


async def test_a_crash_before_commit_loses_and_duplicates_nothing(
    rpc_url: str, keys: dict[str, Keypair]
) -> None:
    rpc, rail, books = SolanaRpc(rpc_url), SolanaRail(), Books()
    merchant = Keypair().pubkey()
    payments = [make_payment(merchant, amount=2_000_000, intent_id=f"pi_{i}") for i in range(3)]

    watcher = restart(rpc, books, payments)
    first = await pay(rpc, payments[0], keys["payer"])
    books.commit(await follow_step(rail, watcher, "solana-local"))
    assert [e.tx_id for e in books.entries.values()] == [first]

    second = await pay(rpc, payments[1], keys["payer"])
    crashed = await follow_step(rail, watcher, "solana-local", books.pending)
    assert [e.tx_id for e in crashed.entries] == [second]
    # kill -9 here: the step is never committed, the watcher's memory is gone.

    third = await pay(rpc, payments[2], keys["payer"])
    watcher = restart(rpc, books, payments)
    books.commit(await follow_step(rail, watcher, "solana-local", books.pending))
    books.commit(await follow_step(rail, watcher, "solana-local", books.pending))  # and once more
    assert sorted(e.tx_id for e in books.entries.values()) == sorted([first, second, third])
    assert sum(e.amount for e in books.entries.values()) == 6_000_000

    for _ in range(100):  # the cluster finalizes two slots later (50 ms slots)
        if not books.pending and len(books.final) == 3:
            break
        await asyncio.sleep(0.02)
        books.commit(await follow_step(rail, watcher, "solana-local", books.pending))
    assert books.final == {first, second, third} and books.pending == ()
    await rpc.aclose()
