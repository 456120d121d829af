"""Following sluice-payments on one Stacks network through its Stacks Blockchain API.

Each step reads the tip height, walks the contract's events newest first back to the cursor (the
newest contract transaction already stored; `sluice.rails.stacks.observe`), decodes the new
transactions into ledger entries (`StacksRail.decode`) and hands them to the indexer's batch path
with the confirmed height (tip − confirmations + 1): entries above it count for the amounts, and
move the status once deep enough (`intents_confirmed_between` promotes them in a later step). The
entries, the intents' transitions, the outbox rows, the checkpoint and the cursor commit in one
transaction, fenced by a compare-and-set on checkpoint and cursor, so a crash at any moment loses
and duplicates nothing: the next step walks again from the last committed cursor, and entries are
unique on (network, tx id, index in the tx) anyway.

Since Nakamoto a Stacks block can only be undone by a Bitcoin reorganisation; the confirmation
depth covers that, and transactions the API reports as not canonical are never decoded. There is
no rollback of stored entries (the EVM follower's reorg window) on Stacks yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
import structlog

from indexer import metrics
from indexer.batch import BatchTarget, index_batch
from indexer.leader import Leadership
from indexer.store import (
    Checkpoint,
    advance_cursor,
    init_checkpoint,
    intents_confirmed_between,
    load_checkpoint,
    load_cursor,
)
from sluice.errors import NetworkError
from sluice.rails.stacks.api import StacksApi
from sluice.rails.stacks.observe import new_transactions
from sluice.rails.stacks.rail import StacksRail

if TYPE_CHECKING:
    from sluice.chain.registry import NetworkConfig
    from sluice.config import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StacksFollowerConfig:
    network: str
    #: The sluice-payments contract id (deployments/NETWORK.json).
    contract: str
    confirmations: int
    poll_seconds: float
    checkout_base_url: str
    #: The registry's chain id of the network (0 for Stacks: see sluice.rails.stacks.networks).
    chain_id: int = 0


@dataclass(frozen=True)
class StacksStep:
    entries: int
    tip: int
    confirmed: int


class StacksFollower:
    """One Stacks network's follower: leader-locked, a step per poll."""

    def __init__(
        self,
        config: StacksFollowerConfig,
        api: StacksApi,
        rail: StacksRail,
        pool: asyncpg.Pool,
        leadership: Leadership,
    ) -> None:
        self.config = config
        self.api = api
        self.rail = rail
        self.pool = pool
        self.leadership = leadership
        self.network = config.network
        self.checkpoint: Checkpoint | None = None
        self.cursor: str | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Waits for leadership, then steps until `stop` is set."""
        await self.leadership.lead(stop, lambda: self._lead(stop))

    async def _lead(self, stop: asyncio.Event) -> None:
        await self.load()
        log.info("indexer_started", network=self.network, contract=self.config.contract, cursor=self.cursor)
        while not stop.is_set():
            await self.leadership.ensure()
            try:
                await self.step()
            except (NetworkError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                metrics.RPC_ERRORS.labels(self.network, type(exc).__name__).inc()
                log.warning("indexer_step_retry", network=self.network, error=str(exc)[:300])
            await _sleep(stop, self.config.poll_seconds)

    async def load(self) -> None:
        """Reads (or creates) the network's checkpoint and cursor."""
        async with self.pool.acquire() as conn, conn.transaction():
            await init_checkpoint(conn, self.network, self.config.chain_id, 0)
            self.checkpoint = await load_checkpoint(conn, self.network)
            self.cursor = await load_cursor(conn, self.network)

    async def step(self) -> StacksStep:
        """Observes, decodes and commits what is new since the cursor (nothing when nothing changed)."""
        if self.checkpoint is None:
            await self.load()
        cp = self.checkpoint
        assert cp is not None
        began = time.monotonic()
        observed = await new_transactions(self.api, self.config.contract, after=self.cursor)
        entries = self.rail.decode(self.network, observed.transactions)
        tip = max(observed.tip_height, cp.last_block)
        confirmed = max(tip - max(self.config.confirmations, 1) + 1, cp.confirmed_block)
        new = Checkpoint(tip, None, tip, confirmed)
        if new == cp and observed.cursor == self.cursor:
            return StacksStep(0, tip, confirmed)
        async with self.pool.acquire() as conn, conn.transaction():
            await advance_cursor(conn, self.network, cp, self.cursor, new, observed.cursor)
            # Entries stored earlier that just reached the confirmed height (this step's are in `entries`).
            promoted = await intents_confirmed_between(conn, self.network, cp.confirmed_block, confirmed)
            await index_batch(
                conn,
                BatchTarget(self.network, self.config.chain_id, confirmed, self.config.checkout_base_url),
                entries,
                {},
                promoted,
            )
        self.checkpoint, self.cursor = new, observed.cursor
        for name, count in Counter(str(e.kind) for e in entries).items():
            metrics.EVENTS.labels(self.network, name).inc(count)
        metrics.LAST_BLOCK.labels(self.network).set(tip)
        metrics.HEAD_BLOCK.labels(self.network).set(observed.tip_height)
        metrics.BATCH_SECONDS.labels(self.network).observe(time.monotonic() - began)
        if entries:
            log.info("indexer_stacks_step", network=self.network, entries=len(entries), tip=tip)
        return StacksStep(len(entries), tip, confirmed)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def stacks_api_url(network: str) -> str | None:
    """The network's Stacks API URL when one is configured (or the local default), else None."""
    from sluice.rails.stacks.networks import get_stacks_network

    try:
        return get_stacks_network(network).api_url()
    except NetworkError:
        return None


async def follow_stacks(
    network: NetworkConfig, settings: Settings, pool: asyncpg.Pool, database_url: str, stop: asyncio.Event
) -> None:
    """Runs a Stacks network's follower until `stop` (the runner's task for a `stacks` network)."""
    contract = network.contracts.payments
    url = stacks_api_url(network.name)
    if contract is None or url is None:
        raise NetworkError(
            f"{network.name}: needs `sluice deploy --network {network.name}` and a Stacks API URL "
            f"(SLUICE_STACKS_API_URL_{network.name.removeprefix('stacks-').upper()})"
        )
    config = StacksFollowerConfig(
        network=network.name,
        contract=contract,
        confirmations=network.confirmations,
        poll_seconds=settings.indexer_poll_seconds,
        checkout_base_url=str(settings.checkout_base_url),
        chain_id=network.chain_id,
    )
    leadership = Leadership(database_url, network.name, poll_seconds=settings.indexer_leader_poll_seconds)
    rail = StacksRail({network.name: contract})
    async with StacksApi(url, timeout=settings.indexer_rpc_timeout_seconds) as api:
        await StacksFollower(config, api, rail, pool, leadership).run(stop)
