"""The indexer's SQL: checkpoint (with fencing), ledger entries, the block window, rollback.

Every function runs inside the caller's transaction on its asyncpg connection; set-based statements
over arrays (`unnest`) keep a batch of thousands of events to a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from sluice import jsoncodec
from sluice.intents.record import IntentRecord
from sluice.ledger.entries import LedgerEntry
from sluice.rails.evm_deposit import DEPOSIT_RAIL


class LostLeadershipError(RuntimeError):
    """Raised when the checkpoint moved under us: another indexer wrote this network's rows."""


@dataclass(frozen=True)
class Checkpoint:
    last_block: int
    last_hash: str | None
    head_block: int
    confirmed_block: int
    halted_reason: str | None = None


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Header:
        return cls(
            number=int(raw["number"], 16),
            hash=raw["hash"].lower(),
            parent_hash=raw["parentHash"].lower(),
            timestamp=int(raw["timestamp"], 16),
        )


async def load_checkpoint(conn: asyncpg.Connection, network: str) -> Checkpoint | None:
    row = await conn.fetchrow(
        "SELECT last_block, last_hash, head_block, confirmed_block, halted_reason "
        "FROM indexer_state WHERE network = $1",
        network,
    )
    if row is None:
        return None
    return Checkpoint(
        row["last_block"], row["last_hash"], row["head_block"], row["confirmed_block"], row["halted_reason"]
    )


async def init_checkpoint(conn: asyncpg.Connection, network: str, chain_id: int, start_block: int) -> None:
    """Creates the network's checkpoint just before its start block (no-op when it exists)."""
    await conn.execute(
        "INSERT INTO indexer_state (network, chain_id, last_block, last_hash, head_block, confirmed_block, "
        "updated_at) VALUES ($1, $2, $3, NULL, 0, -1, now()) ON CONFLICT (network) DO NOTHING",
        network,
        chain_id,
        start_block - 1,
    )


async def advance_checkpoint(
    conn: asyncpg.Connection, network: str, old: Checkpoint, new: Checkpoint
) -> None:
    """Moves the checkpoint from `old` to `new`, or raises LostLeadershipError when it is no longer `old`.

    Runs first in each batch's transaction: the row lock serialises writers, and the compare makes a
    stale leader (one whose lock connection silently died) fail instead of writing twice.
    """
    status = await conn.execute(
        "UPDATE indexer_state SET last_block = $2, last_hash = $3, head_block = $4, confirmed_block = $5, "
        "halted_reason = $6, updated_at = now() "
        "WHERE network = $1 AND last_block = $7 AND last_hash IS NOT DISTINCT FROM $8",
        network,
        new.last_block,
        new.last_hash,
        new.head_block,
        new.confirmed_block,
        new.halted_reason,
        old.last_block,
        old.last_hash,
    )
    if status != "UPDATE 1":
        raise LostLeadershipError(f"the checkpoint of {network} moved: another indexer is writing it")


#: Entries reach PostgreSQL by binary COPY into a session-private staging table, then one INSERT moves
#: them: asyncpg encodes an array element in ~1 µs (it inspects each one for nesting) and a COPY field
#: in a fraction of that; for the 19 columns of an event, ~23 µs a row over arrays against ~4 by COPY,
#: measured. The table lives in the connection's temporary schema, is emptied at every commit (ON
#: COMMIT DELETE ROWS), and the INSERT deletes the rows it reads.
#: Amounts travel as decimal text and block times as Unix seconds (exact, cheap casts in PostgreSQL).
_CREATE_STAGE = """
DO $$
BEGIN
    IF to_regclass('pg_temp.indexer_stage_entries') IS NULL THEN
        CREATE TEMPORARY TABLE indexer_stage_entries (
            rail varchar, source varchar, kind varchar, reason varchar, ref bytea, pi varchar, mid varchar,
            tx varchar, bi int, ti int, h bigint, bid varchar, bt bigint, payer varchar, merchant varchar,
            asset varchar, amount text, mamount text, fees text, total text, verdict varchar, late boolean
        ) ON COMMIT DELETE ROWS;
    END IF;
END $$
"""
STAGE_EVENTS = "indexer_stage_entries"


async def create_stage(conn: asyncpg.Connection) -> None:
    """Creates this connection's staging table if it has none (it vanishes with a rolled-back
    transaction that created it, or with the connection)."""
    await conn.execute(_CREATE_STAGE)


_INSERT_EVENTS = """
WITH s AS (DELETE FROM indexer_stage_entries RETURNING *)
INSERT INTO ledger_entries (network, chain_id, rail, source, kind, reason, intent_ref, payment_intent_id,
    merchant_id, tx_id, block_index, tx_index, height, block_id, block_time, payer, merchant, asset, amount,
    merchant_amount, fee_amounts, total, verdict, late, created_at)
SELECT $1, $2, s.rail, s.source, s.kind, s.reason, s.ref, s.pi, s.mid, s.tx, s.bi, s.ti, s.h, s.bid,
    to_timestamp(s.bt), s.payer, s.merchant, s.asset, s.amount::numeric, s.mamount::numeric, s.fees::jsonb,
    s.total::numeric, s.verdict, s.late, now()
FROM s ORDER BY s.h, s.bi
ON CONFLICT (network, tx_id, tx_index) DO UPDATE SET
    height = excluded.height, block_id = excluded.block_id, block_time = excluded.block_time,
    block_index = excluded.block_index
WHERE ledger_entries.block_id <> excluded.block_id
"""

#: Entry kinds whose asset is the intent's own when the chain's report names none (escrow payouts).
_ASSET_FROM_INTENT = frozenset({"captured", "refunded", "released"})


def _routed(link: IntentRecord, e: LedgerEntry) -> bool:
    """Whether the entry came the way the intent is paid: its deposit address (evm-deposit, which an
    intent may offer beside its own rail), else its rail and the contract or address it names."""
    if e.rail == DEPOSIT_RAIL:
        return (
            link.deposit_address is not None
            and e.source is not None
            and link.deposit_address.lower() == e.source.lower()
        )
    return link.rail == e.rail and (e.source is None or link.contract_address.lower() == e.source.lower())


def event_rows(
    network: str,
    entries: Sequence[LedgerEntry],
    intents: Iterable[IntentRecord],
    block_times: dict[int, int],
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The rows of `insert_event_rows` for the entries, and the ids of the `intents` (their locked
    intents) they touch."""
    links = {bytes(i.onchain_id): i for i in intents}
    rows: list[tuple[Any, ...]] = []
    touched: dict[str, None] = {}
    for e in entries:
        link = links.get(e.intent_ref)
        if link is not None and (link.network != network or not _routed(link, e)):
            link = None  # same reference on another rail, contract or network: not this intent's
        asset = e.asset
        if e.kind in _ASSET_FROM_INTENT and asset is None:
            asset = link.token_address if link is not None else None
        fees = None
        if e.fee_amounts is not None:
            recipients = [s.get("recipient") for s in link.splits or ()] if link is not None else []
            fees = jsoncodec.dumps(
                [
                    {"recipient": recipients[i] if i < len(recipients) else None, "amount": str(a)}
                    for i, a in enumerate(e.fee_amounts)
                ]
            )
        p = e.position
        ts = p.time if p.time is not None else block_times[p.height]
        if link is not None:
            touched[link.id] = None
        rows.append(
            (
                e.rail,
                e.source or "",
                str(e.kind),
                None if e.reason is None else str(e.reason),
                e.intent_ref,
                link.id if link else None,
                link.merchant_id if link else None,
                e.tx_id,
                p.index,
                p.tx_index,
                p.height,
                p.block_id,
                ts,
                e.payer,
                e.merchant,
                asset,
                str(e.amount),
                None if e.merchant_amount is None else str(e.merchant_amount),
                fees,
                None if e.total is None else str(e.total),
                e.verdict,
                e.late,
            )
        )
    return rows, list(touched)


async def insert_event_rows(
    conn: asyncpg.Connection, network: str, chain_id: int, rows: list[tuple[Any, ...]]
) -> None:
    """Stores entries (idempotent on the natural key (network, tx_id, tx_index)); needs
    `create_stage` earlier in the transaction."""
    if rows:
        await conn.copy_records_to_table(STAGE_EVENTS, records=rows)
        await conn.execute(_INSERT_EVENTS, network, chain_id)


async def store_blocks(
    conn: asyncpg.Connection, network: str, headers: Sequence[Header], keep_from: int
) -> None:
    """Records headers of the window and forgets those below `keep_from`."""
    if headers:
        await conn.execute(
            "INSERT INTO indexer_blocks (network, number, hash, parent_hash) "
            "SELECT $1, n, h, p FROM unnest($2::bigint[], $3::varchar[], $4::varchar[]) AS v(n, h, p) "
            "ON CONFLICT (network, number) DO UPDATE "
            "SET hash = excluded.hash, parent_hash = excluded.parent_hash",
            network,
            [h.number for h in headers],
            [h.hash for h in headers],
            [h.parent_hash for h in headers],
        )
    await conn.execute("DELETE FROM indexer_blocks WHERE network = $1 AND number < $2", network, keep_from)


async def window_blocks(conn: asyncpg.Connection, network: str) -> list[tuple[int, str]]:
    """(number, hash) of the stored window, newest first."""
    rows = await conn.fetch(
        "SELECT number, hash FROM indexer_blocks WHERE network = $1 ORDER BY number DESC", network
    )
    return [(r["number"], r["hash"]) for r in rows]


async def intents_confirmed_between(
    conn: asyncpg.Connection, network: str, after: int, up_to: int
) -> list[str]:
    """Intents with an entry in (after, up_to]: they may have just reached their confirmation depth."""
    if up_to <= after:
        return []
    rows = await conn.fetch(
        "SELECT DISTINCT payment_intent_id FROM ledger_entries WHERE network = $1 AND height > $2 "
        "AND height <= $3 AND payment_intent_id IS NOT NULL",
        network,
        after,
        up_to,
    )
    return [r[0] for r in rows]


async def delete_above(conn: asyncpg.Connection, network: str, block: int) -> list[str]:
    """Deletes the entries and window blocks above `block` (a reorg); returns the intents they touched."""
    rows = await conn.fetch(
        "DELETE FROM ledger_entries WHERE network = $1 AND height > $2 RETURNING payment_intent_id",
        network,
        block,
    )
    await conn.execute("DELETE FROM indexer_blocks WHERE network = $1 AND number > $2", network, block)
    return sorted({r[0] for r in rows if r[0] is not None})


async def load_cursor(conn: asyncpg.Connection, network: str) -> str | None:
    """A transaction-paging follower's cursor (indexer_state.cursor); None before its first entry."""
    cursor: str | None = await conn.fetchval("SELECT cursor FROM indexer_state WHERE network = $1", network)
    return cursor


async def advance_cursor(
    conn: asyncpg.Connection,
    network: str,
    old: Checkpoint,
    old_cursor: str | None,
    new: Checkpoint,
    new_cursor: str | None,
) -> None:
    """`advance_checkpoint` for followers that page by transaction (Stacks): moves the checkpoint and
    the cursor together, or raises LostLeadershipError when either is no longer what we loaded."""
    status = await conn.execute(
        "UPDATE indexer_state SET last_block = $2, head_block = $3, confirmed_block = $4, cursor = $5, "
        "updated_at = now() WHERE network = $1 AND last_block = $6 AND cursor IS NOT DISTINCT FROM $7",
        network,
        new.last_block,
        new.head_block,
        new.confirmed_block,
        new_cursor,
        old.last_block,
        old_cursor,
    )
    if status != "UPDATE 1":
        raise LostLeadershipError(f"the checkpoint of {network} moved: another indexer is writing it")
