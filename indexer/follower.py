"""Following one network: backfill and live tail are the same step, repeated.

Each step asks one node, in one JSON-RPC batch, for the head, the finalized block, the header of the
checkpoint (reorg check) and, up to the head seen last time, the logs of the next range plus the
headers it needs. Blocks more than `window` below the head are treated as final: only the range's
last header is fetched. Within the window every header is fetched and stored, the chain's parent
links are checked, and each log's block hash must match its header, or the step is thrown away.
The events, intent changes, outbox events, block window and checkpoint of a step commit in one
transaction, fenced by a compare-and-set on the checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import structlog

from indexer import metrics
from indexer.batch import BatchTarget, index_batch
from indexer.deposits import DepositConfig, DepositWatch
from indexer.leader import Leadership
from indexer.progress import ProgressReporter
from indexer.ranges import AdaptiveRange
from indexer.rpc import RangeTooLargeError, RpcClient, RpcError
from indexer.store import (
    Checkpoint,
    Header,
    advance_checkpoint,
    delete_above,
    init_checkpoint,
    intents_confirmed_between,
    load_checkpoint,
    store_blocks,
    window_blocks,
)
from sluice.chain.events import log_filter
from sluice.chain.intents import ContractKind
from sluice.ledger.entries import LedgerEntry
from sluice.rails.evm_contract import entries_of

log = structlog.get_logger(__name__)


class ReorgTooDeepError(RuntimeError):
    """Raised when a reorganisation reaches below the stored block window: the network is halted."""


class InconsistentStepError(RuntimeError):
    """Raised when one step's answers disagree (a reorg while we asked): the step is retried."""


@dataclass(frozen=True)
class FollowerConfig:
    network: str
    chain_id: int
    contracts: dict[ContractKind, str]
    start_block: int
    confirmations: int
    window: int
    poll_seconds: float
    max_range: int
    target_events: int
    checkout_base_url: str
    #: Deposit addresses (the evm-deposit rail) to watch, or None.
    deposits: DepositConfig | None = None


@dataclass(frozen=True)
class Fetched:
    """A step's JSON-RPC answers, in the order of its calls, and its logs decoded (or the error)."""

    results: list[Any]
    events: list[LedgerEntry] | Exception | None


@dataclass
class StepResult:
    events: int = 0
    blocks: int = 0
    caught_up: bool = False


class NetworkFollower:
    def __init__(
        self,
        config: FollowerConfig,
        rpc: RpcClient,
        pool: asyncpg.Pool,
        leadership: Leadership,
        *,
        reporter: ProgressReporter | None = None,
    ) -> None:
        self.config = config
        self.rpc = rpc
        self.pool = pool
        self.leadership = leadership
        self.reporter = reporter or ProgressReporter(config.network)
        self.range = AdaptiveRange(config.max_range, config.target_events)
        self.checkpoint: Checkpoint | None = None
        self.head = -1
        #: Whether the node answers the `finalized` tag (None: not asked yet).
        self.finalized_supported: bool | None = None
        self.network = config.network
        self._prefetch: tuple[list[tuple[str, list[Any]]], asyncio.Future[Fetched]] | None = None
        self.deposits = DepositWatch(config.network, config.deposits) if config.deposits else None

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        """Waits for leadership, then follows the chain until `stop` is set (or the network halts)."""
        await self.leadership.lead(stop, lambda: self._lead(stop), on_release=self._released)

    def _released(self) -> None:
        self._drop_prefetch()
        self.reporter.close()

    async def _lead(self, stop: asyncio.Event) -> None:
        await self._load_checkpoint()
        while not stop.is_set():
            await self.leadership.ensure()
            try:
                if self.finalized_supported is None:
                    await self._probe_finalized()
                result = await self.step()
            except ReorgTooDeepError:
                raise
            except (
                InconsistentStepError,
                RpcError,
                OSError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
            ) as exc:
                log.warning("indexer_step_retry", network=self.network, error=str(exc)[:300])
                await _sleep(stop, self.config.poll_seconds)
                continue
            if result.caught_up:
                await _sleep(stop, self.config.poll_seconds)

    async def _load_checkpoint(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await init_checkpoint(conn, self.network, self.config.chain_id, self.config.start_block)
            checkpoint = await load_checkpoint(conn, self.network)
        assert checkpoint is not None
        if checkpoint.halted_reason:
            metrics.HALTED.labels(self.network).set(1)
            raise ReorgTooDeepError(
                f"{self.network} is halted: {checkpoint.halted_reason}; fix the cause, then run "
                f"`sluice indexer --network {self.network} --reindex-from BLOCK`"
            )
        self.checkpoint = checkpoint
        self.head = max(self.head, checkpoint.head_block)
        log.info(
            "indexer_started",
            network=self.network,
            checkpoint=checkpoint.last_block,
            head=checkpoint.head_block,
            contracts=self.config.contracts,
        )

    async def _probe_finalized(self) -> None:
        """Asks once whether the node knows the `finalized` tag. A node that cannot be reached at all
        (eth_blockNumber fails too) raises, and the next step asks again."""
        try:
            await self.rpc.call("eth_getBlockByNumber", ["finalized", False])
        except RpcError as exc:
            await self.rpc.call("eth_blockNumber", [])
            self.finalized_supported = False
            log.info("indexer_no_finalized_tag", network=self.network, error=str(exc)[:200])
        else:
            self.finalized_supported = True

    # ------------------------------------------------------------------ one step

    def _header_numbers(self, start: int, end: int, head: int) -> list[int]:
        """Headers a range needs: every block within the window, else only the last one."""
        first_in_window = max(start, head - self.config.window + 1)
        numbers = list(range(first_in_window, end + 1))
        return numbers if numbers else [end]

    def _calls(self, last_block: int, last_hash: str | None, head: int) -> list[tuple[str, list[Any]]]:
        """The JSON-RPC batch of the step after checkpoint `last_block`, with `head` the head known."""
        start = last_block + 1
        end = min(head, start + self.range.size - 1)
        calls: list[tuple[str, list[Any]]] = [("eth_blockNumber", [])]
        if self.finalized_supported:
            calls.append(("eth_getBlockByNumber", ["finalized", False]))
        if last_hash is not None:
            calls.append(("eth_getBlockByNumber", [hex(last_block), False]))
        if end >= start:
            calls.append(("eth_getLogs", [log_filter(self.config.contracts, start, end)]))
            if self.deposits is not None:
                calls.extend(self.deposits.calls(start, end))
            calls.extend(
                ("eth_getBlockByNumber", [hex(n), False]) for n in self._header_numbers(start, end, head)
            )
        return calls

    async def _fetch(self, calls: list[tuple[str, list[Any]]]) -> Fetched:
        """One step's JSON-RPC batch, its logs decoded as soon as they arrive.

        During a backfill this runs as the prefetch of the next range while the current one commits:
        the decoding (in a worker thread) overlaps the commit instead of following it. A decoding error is
        kept and raised where the step uses the events (after its consistency checks), as before.
        """
        results = await self.rpc.batch(calls)
        events: list[LedgerEntry] | Exception | None = None
        for (method, _), result in zip(calls, results, strict=True):
            if method == "eth_getLogs" and events is None:  # the contracts' (deposits' come after)
                try:
                    # In a thread: ~14 µs of Python a log would otherwise hold the event loop, and
                    # the batch committing on it, for a tenth of a second per 10,000 logs.
                    events = await asyncio.to_thread(entries_of, self.network, result)
                except Exception as exc:  # re-raised by the step, after its checks
                    events = exc
        return Fetched(results, events)

    def _prefetched(self, calls: list[tuple[str, list[Any]]]) -> asyncio.Future[Fetched] | None:
        """The batch fetched during the last commit, if it is exactly this step's; else dropped."""
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is None:
            return None
        planned, task = prefetch
        if planned == calls:
            return task
        task.cancel()
        task.add_done_callback(_ignore_result)
        return None

    def _drop_prefetch(self) -> None:
        if self._prefetch is not None:
            self._prefetch[1].cancel()
            self._prefetch[1].add_done_callback(_ignore_result)
            self._prefetch = None

    async def step(self) -> StepResult:
        """One round: reorg check, then the next range's events committed with the checkpoint."""
        cp = self.checkpoint
        assert cp is not None
        start = cp.last_block + 1
        end = min(self.head, start + self.range.size - 1)
        if self.deposits is not None:
            async with self.pool.acquire() as conn:
                await self.deposits.refresh(conn)
        calls = self._calls(cp.last_block, cp.last_hash, self.head)
        began = time.monotonic()
        try:
            prefetched = self._prefetched(calls)
            fetch = await (prefetched if prefetched is not None else self._fetch(calls))
        except RangeTooLargeError as exc:
            if self.range.size == 1:
                raise RpcError(f"even a one-block range fails: {exc}") from exc
            size = self.range.shrink()
            log.info("indexer_range_shrunk", network=self.network, size=size, error=str(exc)[:200])
            return StepResult()
        fetched = time.monotonic() - began
        it = iter(fetch.results)
        head = int(next(it), 16)
        finalized = None
        if self.finalized_supported:
            raw_final = next(it)
            finalized = int(raw_final["number"], 16) if raw_final else None
        self.head = head
        metrics.HEAD_BLOCK.labels(self.network).set(head)
        if cp.last_hash is not None:
            current = next(it)
            if current is None or current["hash"].lower() != cp.last_hash:
                await self.handle_reorg(head, finalized)
                return StepResult()
        confirmed = self._confirmed(head, finalized)
        if end < start:
            if head > cp.last_block:
                return StepResult()  # new blocks: fetch them right away
            await self._commit(cp, [], [], cp.last_block, cp.last_hash, head, confirmed)
            return StepResult(caught_up=True)
        raw_logs = next(it)
        rest = list(it)
        deposit_calls = calls[len(calls) - len(rest) :]
        n_deposit = sum(1 for method, _ in deposit_calls if method != "eth_getBlockByNumber")
        deposit_calls, deposit_results = deposit_calls[:n_deposit], rest[:n_deposit]
        headers = [Header.of(h) if h else None for h in rest[n_deposit:]]
        if any(h is None for h in headers):
            raise InconsistentStepError("the node does not have every header of the range yet")
        deposit_logs = self.deposits.logs_of(deposit_calls, deposit_results) if self.deposits else []
        checked = self._check(cp, [h for h in headers if h is not None], [*raw_logs, *deposit_logs])
        if isinstance(fetch.events, Exception):
            raise fetch.events
        events = fetch.events or []
        if self.deposits is not None and deposit_calls:
            last_header = checked[-1]
            events = events + self.deposits.entries(
                deposit_calls, deposit_results, end, last_header.hash, last_header.timestamp
            )
        block_times = {h.number: h.timestamp for h in checked}
        missing = sorted({e.position.height for e in events if e.position.time is None} - set(block_times))
        if missing:
            block_times.update(await self._timestamps(missing))
        last = checked[-1]
        self.range.observe(len(events), end - start + 1, fetched)
        if end < self.head:
            # Backfilling: fetch the next range while this one commits (used only if the commit
            # lands and the next step asks exactly the same; the head it reports is then a bit old).
            following = self._calls(end, last.hash, self.head)
            self._prefetch = (following, asyncio.ensure_future(self._fetch(following)))
        await self._commit(cp, events, checked, end, last.hash, head, confirmed, block_times=block_times)
        if self.deposits is not None:
            self.deposits.committed(events)
        elapsed = max(time.monotonic() - began, 1e-6)
        metrics.BATCH_SECONDS.labels(self.network).observe(elapsed)
        metrics.EVENTS_PER_SECOND.labels(self.network).set(len(events) / elapsed)
        self.reporter.update(end, head, len(events), end - start + 1)
        return StepResult(events=len(events), blocks=end - start + 1, caught_up=end >= head)

    def _confirmed(self, head: int, finalized: int | None) -> int:
        """Highest block counted as confirmed: the network's depth, or the node's finalized block."""
        by_depth = head - max(self.config.confirmations, 1) + 1
        return max(by_depth, finalized if finalized is not None else -1)

    def _check(
        self, cp: Checkpoint, headers: list[Header], raw_logs: Sequence[dict[str, Any]]
    ) -> list[Header]:
        """Parent links of consecutive headers and log block hashes; raises InconsistentStepError."""
        by_number = {h.number: h for h in headers}
        for h in headers:
            parent = by_number.get(h.number - 1)
            if parent is not None and h.parent_hash != parent.hash:
                raise InconsistentStepError(f"block {h.number} does not link to block {parent.number}")
        first = headers[0]
        if (
            cp.last_hash is not None
            and first.number == cp.last_block + 1
            and first.parent_hash != cp.last_hash
        ):
            raise InconsistentStepError(f"block {first.number} does not link to the checkpoint")
        for lg in raw_logs:
            header = by_number.get(int(lg["blockNumber"], 16))
            if header is not None and lg["blockHash"].lower() != header.hash:
                raise InconsistentStepError(f"logs of block {header.number} come from another fork")
        return headers

    async def _timestamps(self, numbers: Sequence[int]) -> dict[int, int]:
        """Block times for nodes whose logs lack `blockTimestamp` (batched header requests)."""
        out: dict[int, int] = {}
        for i in range(0, len(numbers), 200):
            chunk = numbers[i : i + 200]
            results = await self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
            for n, raw in zip(chunk, results, strict=True):
                if raw is None:
                    raise InconsistentStepError(f"block {n} disappeared while fetching its time")
                out[n] = int(raw["timestamp"], 16)
        return out

    async def _commit(
        self,
        cp: Checkpoint,
        events: Sequence[LedgerEntry],
        headers: Sequence[Header],
        last_block: int,
        last_hash: str | None,
        head: int,
        confirmed: int,
        *,
        block_times: dict[int, int] | None = None,
    ) -> None:
        """Events, intents, outbox, block window and checkpoint in one transaction."""
        stored_confirmed = min(confirmed, last_block)
        new = Checkpoint(last_block, last_hash, head, max(stored_confirmed, -1))
        if new == cp:
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await advance_checkpoint(conn, self.network, cp, new)
            if headers:
                await store_blocks(conn, self.network, headers, keep_from=last_block - self.config.window)
            # Earlier blocks that just reached the confirmed height (this batch's own are in `events`).
            promoted = await intents_confirmed_between(
                conn, self.network, cp.confirmed_block, min(new.confirmed_block, cp.last_block)
            )
            await index_batch(
                conn,
                BatchTarget(
                    self.network, self.config.chain_id, new.confirmed_block, self.config.checkout_base_url
                ),
                events,
                block_times or {},
                promoted,
            )
        self.checkpoint = new
        for name, count in Counter(str(e.kind) for e in events).items():
            metrics.EVENTS.labels(self.network, name).inc(count)
        metrics.LAST_BLOCK.labels(self.network).set(last_block)
        metrics.HEAD_LAG.labels(self.network).set(head - last_block)

    # ------------------------------------------------------------------ reorgs

    async def handle_reorg(self, head: int, finalized: int | None) -> None:
        """Finds the newest stored block still canonical and rolls everything above it back."""
        cp = self.checkpoint
        assert cp is not None
        async with self.pool.acquire() as conn:
            stored = await window_blocks(conn, self.network)
        ancestor: tuple[int, str] | None = None
        for i in range(0, len(stored), 50):
            chunk = stored[i : i + 50]
            results = await self.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n, _ in chunk])
            for (number, hash_), raw in zip(chunk, results, strict=True):
                if raw is not None and raw["hash"].lower() == hash_:
                    ancestor = (number, hash_)
                    break
            if ancestor is not None:
                break
        if ancestor is None:
            reason = (
                f"reorganisation deeper than the {self.config.window}-block window below block "
                f"{cp.last_block} (no stored block is canonical any more)"
            )
            log.critical(
                "indexer_reorg_too_deep", network=self.network, checkpoint=cp.last_block, reason=reason
            )
            metrics.HALTED.labels(self.network).set(1)
            async with self.pool.acquire() as conn, conn.transaction():
                await advance_checkpoint(conn, self.network, cp, replace(cp, halted_reason=reason))
            raise ReorgTooDeepError(f"{self.network}: {reason}")
        number, hash_ = ancestor
        depth = cp.last_block - number
        confirmed = min(self._confirmed(head, finalized), number)
        reverted = await self.rollback(number, hash_, head, confirmed)
        metrics.REORGS.labels(self.network).inc()
        metrics.REORG_DEPTH.labels(self.network).set(depth)
        log.warning(
            "indexer_reorg",
            network=self.network,
            depth=depth,
            ancestor=number,
            old_checkpoint=cp.last_block,
            intents_reverted=reverted,
        )

    async def rollback(self, number: int, hash_: str | None, head: int, confirmed: int) -> int:
        """Deletes everything above block `number` and recomputes the intents it touched."""
        cp = self.checkpoint
        assert cp is not None
        new = Checkpoint(number, hash_, max(head, 0), min(confirmed, number))
        async with self.pool.acquire() as conn, conn.transaction():
            await advance_checkpoint(conn, self.network, cp, new)
            touched = await delete_above(conn, self.network, number)
            target = BatchTarget(
                self.network,
                self.config.chain_id,
                new.confirmed_block,
                self.config.checkout_base_url,
                after_reorg=True,
            )
            events = await index_batch(conn, target, [], {}, touched)
            if self.deposits is not None:
                await self.deposits.reload(conn)
        self.checkpoint = new
        return len(events)


def _ignore_result(future: asyncio.Future[Any]) -> None:
    """Retrieves a dropped prefetch's outcome (so asyncio does not warn about it)."""
    if not future.cancelled():
        future.exception()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
