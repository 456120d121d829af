"""Applying the stored ledger entries to payment intents: the sums of each intent's canonical entries
go to the transitions (`sluice.intents.transitions.decide`), which decide its status, amounts and
events; this module loads and locks the intents, sums their entries in SQL, and writes the decisions
back with their outbox events (`sluice.events.outbox.insert_outbox`) in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from sluice import jsoncodec
from sluice.clock import utcnow
from sluice.events.outbox import NewEvent, insert_outbox, intent_event, outbox_rows
from sluice.intents.record import RECORD_SELECT, IntentRecord, QuoteRecord, record_of
from sluice.intents.transitions import Sums, Totals, decide

log = structlog.get_logger(__name__)

#: Each intent's sums over its stored entries: all of them, and those at or below the final height ($2).
_AGGREGATES = """
SELECT payment_intent_id AS id,
  coalesce(sum(amount) FILTER (WHERE kind = 'received'), 0)::text AS rec,
  coalesce(sum(amount) FILTER (WHERE kind = 'received' AND height <= $2), 0)::text AS rec_c,
  coalesce(sum(amount) FILTER (WHERE kind = 'escrow_deposited'), 0)::text AS dep,
  coalesce(sum(amount) FILTER (WHERE kind = 'escrow_deposited' AND height <= $2), 0)::text AS dep_c,
  coalesce(sum(amount) FILTER (WHERE kind = 'captured'), 0)::text AS cap,
  coalesce(sum(amount) FILTER (WHERE kind = 'captured' AND height <= $2), 0)::text AS cap_c,
  coalesce(sum(amount) FILTER (WHERE kind = 'refunded'), 0)::text AS ref,
  coalesce(sum(amount) FILTER (WHERE kind = 'refunded' AND height <= $2), 0)::text AS ref_c,
  coalesce(sum(amount) FILTER (WHERE kind = 'released'), 0)::text AS rel,
  coalesce(sum(amount) FILTER (WHERE kind = 'released' AND height <= $2), 0)::text AS rel_c,
  coalesce(bool_or(kind = 'released'), false) AS closed,
  coalesce(bool_or(kind = 'released' AND height <= $2), false) AS closed_c,
  coalesce(bool_or(reason = 'reclaimed'), false) AS reclaimed,
  coalesce(bool_or(reason = 'reclaimed' AND height <= $2), false) AS reclaimed_c,
  count(*) FILTER (WHERE kind = 'stray') AS strays
FROM ledger_entries WHERE payment_intent_id = ANY($1::varchar[]) GROUP BY payment_intent_id
"""

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


def totals_of(agg: Mapping[str, Any] | None) -> Totals:
    """An `aggregates_of` row as the transitions' Totals (no row: no entries)."""
    if agg is None:
        return Totals()

    def g(key: str) -> int:
        return int(agg[key] or 0)

    return Totals(
        seen=Sums(
            g("rec"), g("dep"), g("cap"), g("ref"), g("rel"), agg["closed"], agg["reclaimed"], g("strays")
        ),
        final=Sums(
            g("rec_c"), g("dep_c"), g("cap_c"), g("ref_c"), g("rel_c"), agg["closed_c"], agg["reclaimed_c"]
        ),
    )


#: Column names come from the model's mapper, never from input.
_SELECT_INTENTS = f"SELECT {RECORD_SELECT} FROM payment_intents WHERE {{}} ORDER BY id FOR UPDATE"  # noqa: S608
_LOCK_BY_ID = _SELECT_INTENTS.format("id = ANY($1::varchar[])")
_LOCK_BY_ONCHAIN_ID = _SELECT_INTENTS.format("onchain_id = ANY($1::bytea[])")


async def lock_rows(
    conn: asyncpg.Connection, *, ids: Sequence[str] = (), onchain_ids: Sequence[bytes] = ()
) -> list[asyncpg.Record]:
    """Loads and row-locks intents by API id or on-chain id (the rows go to `intents_of` in the batch's
    worker thread). The locks serialise with the API (cancel, relayed captures) writing the same
    intents; `apply_writes`' set-based UPDATE writes the moved records back."""
    if not ids and not onchain_ids:
        return []
    # `= ANY(array)`: one parameter however many keys (IN would bind and parse one per key).
    if ids:
        return await conn.fetch(_LOCK_BY_ID, sorted(set(ids)))
    return await conn.fetch(_LOCK_BY_ONCHAIN_ID, list(set(onchain_ids)))


def intents_of(rows: Iterable[asyncpg.Record]) -> list[IntentRecord]:
    """IntentRecords from `lock_rows`' rows (values as the ORM loads them: Money as int, JSONB decoded)."""
    return [record_of(row) for row in rows]


async def aggregates_of(
    conn: asyncpg.Connection, ids: Sequence[str], confirmed_block: int
) -> dict[str, Mapping[str, Any]]:
    """Each intent's sums (decimal text) over its stored entries (all, and those at or below
    `confirmed_block`)."""
    rows = await conn.fetch(_AGGREGATES, list(ids), confirmed_block)
    return {r["id"]: r for r in rows}


@dataclass
class Writes:
    """A set of intent changes: the UPDATE's JSON (None when no intent moved), the outbox rows."""

    update: str | None
    outbox: list[tuple[Any, ...]]
    events: list[NewEvent]


def writes_of(
    intents: Iterable[IntentRecord],
    aggregates: Mapping[str, Mapping[str, Any]],
    quotes: Mapping[str, QuoteRecord],
    checkout_base_url: str,
    *,
    after_reorg: bool,
) -> Writes:
    """Moves the (locked) intents to what the transitions decide from their entries (`after_reorg`
    lets statuses go backwards) and builds what records it: the UPDATE's JSON rows and the outbox
    events with their payloads (the intents' API views, carrying the fiat-priced intents' `quotes` as
    the API does). Pure computation: the batch runs it in a thread."""
    updates: list[dict[str, Any]] = []
    events: list[NewEvent] = []
    now = utcnow()
    for intent in intents:
        decision = decide(intent, totals_of(aggregates.get(intent.id)), now=now, after_reorg=after_reorg)
        if decision is None:
            continue
        decision.apply(intent)
        updates.append(
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
        )
        if decision.events:
            quote = quotes.get(intent.quote_id) if intent.quote_id else None
            events.extend(
                intent_event(
                    intent, type, checkout_base_url, quote=quote, previous_attributes=decision.previous
                )
                for type in decision.events
            )
    return Writes(jsoncodec.dumps(updates) if updates else None, outbox_rows(events), events)


async def apply_writes(conn: asyncpg.Connection, writes: Writes) -> None:
    """The intents' UPDATE and their outbox rows (COPY), in the caller's transaction."""
    if writes.update is not None:
        await conn.execute(_UPDATE, writes.update)
    if writes.events:
        await insert_outbox(conn, writes.outbox)
