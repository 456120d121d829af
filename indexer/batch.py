"""One batch of ledger entries into the database: entries, intents and outbox, pipelined by chunks.

The batch is cut into chunks that never split an intent's events (each intent is locked, stored and
recomputed in exactly one chunk, from all of this batch's events for it). Per chunk, in the caller's
transaction on one connection:

    lock the chunk's intents → store its events → sum each intent's events (+ its quotes)
    → move the intents, build the outbox payloads → UPDATE the intents, INSERT the outbox

(the statements over intents, quotes and the outbox are `sluice.intents.repository.intents`').

About half of it is PostgreSQL's work and half Python's (rows, the intents' new state and API views).
The statements go through a `Lane` (one at a time, in order, sent by the event loop), the Python work
runs in a worker thread: while PostgreSQL stores chunk n+1 and writes chunk n-1, Python builds chunk
n's payloads, so a batch takes about the longer of the two sides instead of their sum. (The event loop
needs the GIL only briefly, to pass results and send the next statement.)

Other intents to recompute (`recompute`: those whose earlier events just reached the confirmed height,
or, after a reorganisation's rollback, those whose events were deleted) that no chunk touched come last.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg

from indexer.apply import aggregates_of, writes_of
from indexer.lane import Lane
from indexer.rejections import announce_rejections, new_rejections
from indexer.store import create_stage, event_rows, insert_event_rows
from sluice.events.outbox import NewEvent
from sluice.intents.record import IntentRecord, QuoteRecord
from sluice.intents.repository.intents import apply_writes, lock_rows, quotes_of, records_of
from sluice.ledger.entries import LedgerEntry

#: Events per chunk: small enough that the pipeline fills quickly, large enough that the per-statement
#: round trips stay negligible.
CHUNK_EVENTS = 500


@dataclass(frozen=True)
class BatchTarget:
    network: str
    chain_id: int
    confirmed_block: int
    checkout_base_url: str
    #: After a reorganisation's rollback: statuses may move backwards (with `payment_intent.reverted`).
    after_reorg: bool = False


@dataclass
class _Stored:
    """A chunk whose events are queued for storing: its intents and their sums and quotes to come."""

    intents: list[IntentRecord]
    aggregates: asyncio.Future[dict[str, Mapping[str, Any]]]
    quotes: asyncio.Future[dict[str, QuoteRecord]]


def chunks_of(events: Sequence[LedgerEntry], size: int) -> list[list[LedgerEntry]]:
    """Consecutive chunks of about `size` events, each holding all events of its on-chain ids (in
    chain order within the chunk)."""
    groups: dict[bytes, list[LedgerEntry]] = {}
    for e in events:
        groups.setdefault(e.intent_ref, []).append(e)
    chunks: list[list[LedgerEntry]] = []
    current: list[LedgerEntry] = []
    for group in groups.values():
        if current and len(current) + len(group) > size:
            chunks.append(current)
            current = []
        current.extend(group)
    if current:
        chunks.append(current)
    for chunk in chunks:
        chunk.sort(key=lambda e: (e.position.height, e.position.index))
    return chunks


def _prepare(
    network: str, chunk: list[LedgerEntry], rows: list[asyncpg.Record], block_times: dict[int, int]
) -> tuple[list[IntentRecord], list[tuple[Any, ...]], list[str]]:
    """A chunk's locked intents and its event rows (the ids of the intents they touch)."""
    intents = records_of(rows)
    stored, touched = event_rows(network, chunk, intents, block_times)
    return intents, stored, touched


async def index_batch(
    conn: asyncpg.Connection,
    target: BatchTarget,
    events: Sequence[LedgerEntry],
    block_times: dict[int, int],
    recompute: Sequence[str] = (),
) -> list[NewEvent]:
    """Stores `events`, moves the intents they touch and those in `recompute`; returns the outbox events."""
    outbox: list[NewEvent] = []
    seen: set[str] = set()
    chunks = chunks_of(events, CHUNK_EVENTS)
    rejected = await new_rejections(conn, target.network, events)
    async with Lane() as lane:

        def sums(intents: list[IntentRecord], ids: list[str]) -> _Stored:
            by_id = {i.id: i for i in intents}
            touched = [by_id[i] for i in ids if i in by_id]
            return _Stored(
                touched,
                lane.submit(partial(aggregates_of, conn, ids, target.confirmed_block)),
                lane.submit(partial(quotes_of, conn, touched)),
            )

        async def finish(stored: _Stored) -> None:
            aggregates, quotes = await stored.aggregates, await stored.quotes
            writes = await asyncio.to_thread(
                partial(
                    writes_of,
                    stored.intents,
                    aggregates,
                    quotes,
                    target.checkout_base_url,
                    after_reorg=target.after_reorg,
                )
            )
            lane.submit(partial(apply_writes, conn, writes))
            outbox.extend(writes.events)

        if chunks:  # the events' staging table (indexer.store); an idle step stores no events
            lane.submit(partial(create_stage, conn))
        # Every chunk's lock first (cheap for PostgreSQL): the next chunk's rows never wait behind
        # the statements queued last.
        locks = [lane.submit(partial(lock_rows, conn, onchain_ids=[e.intent_ref for e in c])) for c in chunks]
        previous: _Stored | None = None
        for chunk, locking in zip(chunks, locks, strict=True):
            rows = await locking
            intents, stored, touched = await asyncio.to_thread(
                _prepare, target.network, chunk, rows, block_times
            )
            lane.submit(partial(insert_event_rows, conn, target.network, target.chain_id, stored))
            seen.update(touched)
            current = sums(intents, touched)
            if previous is not None:
                await finish(previous)
            previous = current
        if previous is not None:
            await finish(previous)
        rest = sorted(set(recompute) - seen)
        if rest:
            rows = await lane.submit(partial(lock_rows, conn, ids=rest))
            await finish(sums(records_of(rows), rest))
    outbox.extend(await announce_rejections(conn, target.network, rejected, target.checkout_base_url))
    return outbox
