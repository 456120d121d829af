"""Applying the stored ledger entries to payment intents: the sums of each intent's canonical entries
go to the transitions (`sluice.intents.transitions.decide`), which decide its status, amounts and
events. This module sums the entries in SQL and turns the decisions into writes; the intents are
locked, loaded and written back with their outbox events by `sluice.intents.repository.intents`
(`lock_rows`, `apply_writes`), in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import asyncpg
import structlog

from sluice.clock import utcnow
from sluice.events.outbox import NewEvent, intent_event
from sluice.intents.record import IntentRecord, QuoteRecord
from sluice.intents.repository.intents import Writes, prepare_writes
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


async def aggregates_of(
    conn: asyncpg.Connection, ids: Sequence[str], confirmed_block: int
) -> dict[str, Mapping[str, Any]]:
    """Each intent's sums (decimal text) over its stored entries (all, and those at or below
    `confirmed_block`)."""
    rows = await conn.fetch(_AGGREGATES, list(ids), confirmed_block)
    return {r["id"]: r for r in rows}


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
    moved: list[IntentRecord] = []
    events: list[NewEvent] = []
    now = utcnow()
    for intent in intents:
        decision = decide(intent, totals_of(aggregates.get(intent.id)), now=now, after_reorg=after_reorg)
        if decision is None:
            continue
        decision.apply(intent)
        moved.append(intent)
        if decision.events:
            quote = quotes.get(intent.quote_id) if intent.quote_id else None
            events.extend(
                intent_event(
                    intent, type, checkout_base_url, quote=quote, previous_attributes=decision.previous
                )
                for type in decision.events
            )
    return prepare_writes(moved, events)
