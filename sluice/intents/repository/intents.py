"""The asyncpg statements over payment intents and their quotes: row locks, the expiry job's claim,
quote loads, and `save` — the one UPDATE that writes moved intents, with their outbox rows.

Everything here reads `IntentRecord`s through `RECORD_SELECT` and `record_of`, and writes what
`sluice.intents.transitions` decided; nothing here decides a status. No SQLAlchemy: the indexer
imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from sluice import jsoncodec
from sluice.events.outbox import NewEvent
from sluice.intents.record import RECORD_COLUMNS, IntentRecord, QuoteRecord, quote_record_of, record_of
from sluice.intents.repository.outbox import insert_outbox, outbox_rows

#: The SELECT list `record_of` reads. JSON and Money columns come as text and are decoded by
#: `record_of`, in the thread that builds the records rather than on the event loop that receives the
#: rows (where asyncpg would build a Decimal per amount, for `int` to take apart again).
RECORD_SELECT = ", ".join(
    f'"{name}"::text AS "{name}"' if kind is not None else f'"{name}"' for name, kind in RECORD_COLUMNS
)

#: The SELECT list of `QuoteRecord`s, in field order (`amount` as text, `quote_record_of` makes it int).
QUOTE_SELECT = (
    "id, merchant_id, fiat_amount, currency, network, asset, decimals, rate, source, amount::text, "
    "locked_until, created_at"
)

# Column lists are constants, parameters are parameters: nothing from a request in the text.
_SELECT_INTENTS = f"SELECT {RECORD_SELECT} FROM payment_intents WHERE {{}}"  # noqa: S608
_LOCK_BY_ID = _SELECT_INTENTS.format("id = ANY($1::varchar[]) ORDER BY id FOR UPDATE")
_LOCK_BY_ONCHAIN_ID = _SELECT_INTENTS.format("onchain_id = ANY($1::bytea[]) ORDER BY id FOR UPDATE")
#: Unpaid intents past a time, oldest deadline first; those another transaction holds are skipped.
_CLAIM_EXPIRED = _SELECT_INTENTS.format(
    "status = 'requires_payment' AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
_SELECT_QUOTES = f"SELECT {QUOTE_SELECT} FROM quotes WHERE id = ANY($1::varchar[])"  # noqa: S608

#: The moved intents travel as one JSON text (built in the batch's worker thread): asyncpg encodes an
#: array element in ~1 µs (it inspects each one for nesting), so seven arrays of parameters cost the
#: batch's connection ~20 µs an intent before PostgreSQL saw them; one text costs nothing and
#: PostgreSQL reads it in ~1-2 µs a row. Amounts are JSON strings (exact at any size). Like `unnest`,
#: `json_to_recordset` is estimated small, so the join stays on the primary key.
_UPDATE = """
UPDATE payment_intents AS p SET status = v.status, amount_received = v.received,
    amount_capturable = v.capturable, amount_refunded = v.refunded,
    canceled_at = v.canceled_at, cancellation_reason = v.reason, stray_deposits = v.strays,
    updated_at = now()
FROM json_to_recordset($1::json) AS v(id varchar, status varchar, received numeric, capturable numeric,
    refunded numeric, canceled_at timestamptz, reason varchar, strays int)
WHERE p.id = v.id
"""


# ------------------------------------------------------------------------------------------ reads


async def lock_rows(
    conn: asyncpg.Connection, *, ids: Sequence[str] = (), onchain_ids: Sequence[bytes] = ()
) -> list[asyncpg.Record]:
    """Row-locks intents by API id or on-chain reference, in id order, and returns their rows (for
    `records_of`, which the indexer runs in its worker thread). The locks serialise the indexers,
    the API's operations and the expiry job writing the same intents."""
    if not ids and not onchain_ids:
        return []
    # `= ANY(array)`: one parameter however many keys (IN would bind and parse one per key).
    if ids:
        return await conn.fetch(_LOCK_BY_ID, sorted(set(ids)))
    return await conn.fetch(_LOCK_BY_ONCHAIN_ID, list(set(onchain_ids)))


def records_of(rows: Iterable[Any]) -> list[IntentRecord]:
    """IntentRecords from rows of RECORD_SELECT (values as the ORM would load them)."""
    return [record_of(row) for row in rows]


async def claim_expired(conn: asyncpg.Connection, before: datetime, limit: int) -> list[IntentRecord]:
    """Locks up to `limit` unpaid intents whose deadline is at or before `before` (skipping those
    another transaction holds: they are picked up next time)."""
    return records_of(await conn.fetch(_CLAIM_EXPIRED, before, limit))


async def quotes_of(conn: asyncpg.Connection, intents: Iterable[IntentRecord]) -> dict[str, QuoteRecord]:
    """The quotes of fiat-priced intents by id, in one query: views and event payloads carry them."""
    ids = sorted({i.quote_id for i in intents if i.quote_id})
    if not ids:
        return {}
    rows = await conn.fetch(_SELECT_QUOTES, ids)
    return {row["id"]: quote_record_of(row) for row in rows}


async def load_quote(conn: asyncpg.Connection, merchant_id: str, quote_id: str) -> QuoteRecord | None:
    """One of the merchant's quotes, or None (another merchant's quote is nobody's)."""
    rows = await conn.fetch(_SELECT_QUOTES, [quote_id])
    quote = quote_record_of(rows[0]) if rows else None
    return quote if quote is not None and quote.merchant_id == merchant_id else None


# ----------------------------------------------------------------------------------------- writes


@dataclass
class Writes:
    """What `apply_writes` sends: the UPDATE's JSON (None when no intent moved) and the outbox rows."""

    update: str | None
    outbox: list[tuple[Any, ...]]
    events: list[NewEvent]


def prepare_writes(moved: Iterable[IntentRecord], events: Sequence[NewEvent]) -> Writes:
    """The statements' parameters for intents moved by the transitions and the events announcing it
    (pure: the indexer builds them in its worker thread)."""
    updates = [
        {
            "id": intent.id,
            "status": str(intent.status),
            "received": str(intent.amount_received),
            "capturable": str(intent.amount_capturable),
            "refunded": str(intent.amount_refunded),
            "canceled_at": intent.canceled_at,
            "reason": intent.cancellation_reason,
            "strays": intent.stray_deposits,
        }
        for intent in moved
    ]
    return Writes(jsoncodec.dumps(updates) if updates else None, outbox_rows(events), list(events))


async def apply_writes(conn: asyncpg.Connection, writes: Writes) -> None:
    """The intents' UPDATE and their outbox rows, in the caller's transaction."""
    if writes.update is not None:
        await conn.execute(_UPDATE, writes.update)
    if writes.outbox:
        await insert_outbox(conn, writes.outbox)


async def save(conn: asyncpg.Connection, moved: Iterable[IntentRecord], events: Sequence[NewEvent]) -> None:
    """Writes intents moved by the transitions (locked by this transaction) with their events."""
    await apply_writes(conn, prepare_writes(moved, events))
