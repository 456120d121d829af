"""The Solana indexer: one loop per Solana network, following payments by their Solana Pay reference.

Each step (sluice.rails.solana.follower.follow_step) reads the new transactions of the accounts the
open intents are paid to (the merchants' wallets or USDC token accounts), judges those that carry an
open intent's reference, and settles the signatures not final yet. Then one database transaction:

    the checkpoint (compare-and-set: a stale leader fails) → the entries through the batch path
    (indexer.batch.index_batch), the intents whose entries just became final recomputed
    → dropped signatures' entries deleted, their intents recomputed backwards → the cursors

so `kill -9` at any moment loses nothing (the next step starts from the committed cursors and reads
the same transactions again) and doubles nothing (entries are unique on network + signature).

Finality: an entry counts (`succeeded`) when its slot is at or below the cluster's `finalized` slot
and no signature still only `confirmed` sits at or below it; before that the intent is `processing`.
The checkpoint's `confirmed_block` is that final slot, `head_block` the newest slot seen. What is
not final yet is read back from the ledger (entries above the final slot), so the pending
signatures live in the same rows as the entries.

The open intents are loaded once, then refreshed each step by `updated_at` (new intents, status
changes) and reloaded in full every `FULL_RELOAD_SECONDS` (to forget intents no longer watched).
An intent stays watched `KEEP_WATCHING` after it stops being open, so that a repeated payment is
recorded (`reference_reused`) rather than missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import asyncpg
import structlog

from indexer.batch import BatchTarget, index_batch
from indexer.leader import Leadership
from indexer.store import (
    Checkpoint,
    LostLeadershipError,
    advance_checkpoint,
    init_checkpoint,
    intents_confirmed_between,
    load_checkpoint,
)
from sluice.chain.registry import NetworkConfig, Registry
from sluice.clock import utcnow
from sluice.config import Settings
from sluice.errors import SluiceError
from sluice.events.outbox import NewEvent
from sluice.rails.solana.follower import FollowStep, follow_step
from sluice.rails.solana.observe import RAIL_NAME
from sluice.rails.solana.payment import SolanaPayment, payment_from_intent
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.solana.settings import SolanaSettings
from sluice.rails.solana.watcher import ReferenceWatcher

log = structlog.get_logger(__name__)

#: Statuses of intents that can still be paid (or are being paid).
OPEN_STATUSES = ["requires_payment", "processing"]
KEEP_WATCHING = timedelta(hours=24)
FULL_RELOAD_SECONDS = 300.0
CHANGE_OVERLAP = timedelta(seconds=30)
#: Solana has no chain id; the checkpoint row says 0.
CHAIN_ID = 0

#: `rail <> 'evm-contract'` lets PostgreSQL use the partial index ix_payment_intents_watched
#: (network, updated_at) of the intents of the other rails.
_SELECT = (
    "SELECT id, network, asset, amount, payout_address, splits, onchain_id, expires_at, token_address, "
    "decimals, payer, description, status, updated_at FROM payment_intents "
    "WHERE network = $1 AND rail = $2 AND rail <> 'evm-contract' AND "
)
#: Everything to watch (at start and every FULL_RELOAD_SECONDS).
_ALL_INTENTS = _SELECT + "(status = ANY($3::varchar[]) OR updated_at > $4)"
#: What changed since the last step (new intents, status changes).
_CHANGED_INTENTS = _SELECT + "updated_at > $3"


@dataclass(frozen=True)
class SolanaIndexerConfig:
    network: str
    poll_seconds: float
    checkout_base_url: str
    max_transactions: int = 500


@dataclass(frozen=True)
class StepResult:
    step: FollowStep
    events: list[NewEvent]
    final_slot: int


class SolanaFollower:
    """Follows one Solana network while it leads it (one leader per network, as for EVM)."""

    def __init__(
        self, config: SolanaIndexerConfig, rail: SolanaRail, pool: asyncpg.Pool, leadership: Leadership
    ) -> None:
        self.config = config
        self.network = config.network
        self.rail = rail
        self.rpc = rail.rpc(config.network)
        self.pool = pool
        self.leadership = leadership
        self.watcher: ReferenceWatcher | None = None
        self._loaded_at = 0.0
        self._since: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Waits for leadership, then follows the network until `stop` is set."""
        await self.leadership.lead(stop, lambda: self._lead(stop), on_lost=self._forget)

    def _forget(self) -> None:
        self.watcher = None  # another leader moved the cursors: reload them

    async def _lead(self, stop: asyncio.Event) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await init_checkpoint(conn, self.network, CHAIN_ID, 0)
        log.info("indexer_started", network=self.network, rail=RAIL_NAME)
        while not stop.is_set():
            await self.leadership.ensure()
            try:
                result = await self.step()
            except LostLeadershipError:
                raise
            except (SluiceError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("indexer_step_retry", network=self.network, error=str(exc)[:300])
                self.watcher = None  # its cursors and credits may be ahead of the database: reload
                await _sleep(stop, self.config.poll_seconds)
                continue
            if len(result.step.observations) < self.config.max_transactions:
                await _sleep(stop, self.config.poll_seconds)

    async def step(self) -> StepResult:
        """One step: read, judge, and commit (or, on any error, commit nothing)."""
        async with self.pool.acquire() as conn:
            await self._watch(conn)
            old = await load_checkpoint(conn, self.network)
            if old is None:
                raise LostLeadershipError(f"no checkpoint for {self.network}")
            pending = await conn.fetch(
                "SELECT DISTINCT tx_id, height FROM ledger_entries WHERE network = $1 AND height > $2",
                self.network,
                old.confirmed_block,
            )
        assert self.watcher is not None
        finalized = await self.rpc.slot("finalized")
        step = await follow_step(
            self.rail,
            self.watcher,
            self.network,
            [r["tx_id"] for r in pending],
            max_transactions=self.config.max_transactions,
        )
        slots = {r["tx_id"]: int(r["height"]) for r in pending}
        slots.update({e.tx_id: e.position.height for e in step.entries})
        waiting = [slots[s] for s in step.pending if s in slots]
        final_slot = min([finalized, *(s - 1 for s in waiting)])
        head = max([old.head_block, finalized, *slots.values()])
        new = Checkpoint(finalized, None, head, final_slot)
        target = BatchTarget(self.network, CHAIN_ID, final_slot, self.config.checkout_base_url)
        async with self.pool.acquire() as conn, conn.transaction():
            await advance_checkpoint(conn, self.network, old, new)
            recompute = await intents_confirmed_between(conn, self.network, old.confirmed_block, final_slot)
            events = await index_batch(conn, target, step.entries, {}, recompute)
            if step.dropped:
                rows = await conn.fetch(
                    "DELETE FROM ledger_entries WHERE network = $1 AND tx_id = ANY($2::varchar[]) "
                    "RETURNING payment_intent_id",
                    self.network,
                    list(step.dropped),
                )
                touched = sorted({r[0] for r in rows if r[0] is not None})
                log.warning("solana_signatures_dropped", network=self.network, signatures=step.dropped)
                reorg = BatchTarget(
                    self.network, CHAIN_ID, final_slot, self.config.checkout_base_url, after_reorg=True
                )
                events += await index_batch(conn, reorg, [], {}, touched)
            await save_cursors(conn, self.network, step.cursors)
        if step.entries or events:
            log.info(
                "indexer_batch",
                network=self.network,
                entries=len(step.entries),
                events=len(events),
                final_slot=final_slot,
            )
        return StepResult(step, events, final_slot)

    async def _watch(self, conn: asyncpg.Connection) -> None:
        """Builds the watcher from the database, or adds what changed since the last step."""
        now = time.monotonic()
        if self.watcher is None or now - self._loaded_at > FULL_RELOAD_SECONDS:
            watcher = ReferenceWatcher(self.rpc)
            watcher.cursors.update(await load_cursors(conn, self.network))
            self.watcher, self._loaded_at = watcher, now
            since = utcnow() - KEEP_WATCHING
            rows = await conn.fetch(_ALL_INTENTS, self.network, RAIL_NAME, OPEN_STATUSES, since)
        else:
            assert self._since is not None
            rows = await conn.fetch(_CHANGED_INTENTS, self.network, RAIL_NAME, self._since)
        if self._since is None or rows:
            # Overlap: a row committed after this read with an earlier `updated_at` (set when its
            # transaction began) is still seen by the next reads. Watching a row again is harmless.
            newest = max([utcnow() - KEEP_WATCHING, *(r["updated_at"] for r in rows)])
            self._since = newest - CHANGE_OVERLAP
        if not rows:
            return
        payments = list(_payments(rows))
        credited = await conn.fetch(
            "SELECT intent_ref, sum(amount)::text AS credited FROM ledger_entries "
            "WHERE network = $1 AND rail = $2 AND intent_ref = ANY($3::bytea[]) GROUP BY intent_ref",
            self.network,
            RAIL_NAME,
            [p.reference for p in payments],
        )
        self.watcher.watch(payments, credited={bytes(r[0]): int(r[1]) for r in credited})


def _payments(rows: Iterable[asyncpg.Record]) -> Iterable[SolanaPayment]:
    for row in rows:
        try:
            yield payment_from_intent(SimpleNamespace(**dict(row)))
        except SluiceError as exc:  # e.g. an EVM payout address on a Solana intent: not payable
            log.warning("solana_intent_unwatchable", intent=row["id"], error=str(exc))


async def load_cursors(conn: asyncpg.Connection, network: str) -> dict[str, str | None]:
    rows = await conn.fetch("SELECT account, signature FROM solana_cursors WHERE network = $1", network)
    return {r["account"]: r["signature"] for r in rows}


async def save_cursors(conn: asyncpg.Connection, network: str, cursors: Mapping[str, str | None]) -> None:
    """Upserts the cursors that point somewhere (in the caller's transaction)."""
    moved = {a: s for a, s in cursors.items() if s is not None}
    if moved:
        await conn.execute(
            "INSERT INTO solana_cursors (network, account, signature, updated_at) "
            "SELECT $1, a, s, now() FROM unnest($2::varchar[], $3::varchar[]) AS v(a, s) "
            "ON CONFLICT (network, account) DO UPDATE SET signature = excluded.signature, "
            "updated_at = excluded.updated_at "
            "WHERE solana_cursors.signature IS DISTINCT FROM excluded.signature",
            network,
            list(moved),
            list(moved.values()),
        )


def configured_networks(registry: Registry) -> list[NetworkConfig]:
    """The Solana networks an indexer follows by default: those whose RPC URL is set explicitly
    (`SLUICE_RPC_URL_SOLANA…`; the local cluster's default URL alone does not start one)."""
    return [n for n in registry if n.family == "solana" and os.environ.get(n.rpc_env)]


def indexer_config(network: NetworkConfig, settings: Settings) -> SolanaIndexerConfig:
    return SolanaIndexerConfig(
        network=network.name,
        poll_seconds=settings.indexer_poll_seconds,
        checkout_base_url=str(settings.checkout_base_url),
        max_transactions=SolanaSettings().indexer_max_transactions,
    )


async def follow(
    network: NetworkConfig,
    settings: Settings,
    pool: asyncpg.Pool,
    database_url: str,
    stop: asyncio.Event,
) -> None:
    """The task of one Solana network in `indexer.runner.run`."""
    rail = SolanaRail()
    leadership = Leadership(database_url, network.name, poll_seconds=settings.indexer_leader_poll_seconds)
    try:
        await SolanaFollower(indexer_config(network, settings), rail, pool, leadership).run(stop)
    finally:
        await rail.aclose()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
