"""Applying the stored events to payment intents: amounts and status recomputed from the canonical events.

An intent's amounts are derived from all its stored events and its status from those at or below
the confirmed height (with `processing` while funds are seen but not yet confirmed). Deriving from
the event set, never incrementing, is what makes a batch idempotent and a reorg a plain recompute
after deleting the removed blocks' rows.

Status only moves forward (requires_payment → processing → requires_capture → succeeded/canceled)
except after a reorganisation, which may move it back and then records `payment_intent.reverted`.
Every change goes through `sluice.intents.states.transition` and records its event in the outbox
(`sluice.events.outbox.insert_outbox`) in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
import structlog

from sluice.clock import utcnow
from sluice.events.outbox import EventType, NewEvent, insert_outbox, intent_event, outbox_rows
from sluice.intents.record import RECORD_SELECT, IntentRecord, QuoteRecord, record_of
from sluice.intents.states import can_transition, transition
from sluice.intents.status import CaptureMethod
from sluice.intents.status import PaymentIntentStatus as S

log = structlog.get_logger(__name__)

_RANK = {S.requires_payment: 0, S.processing: 1, S.requires_capture: 2, S.succeeded: 3, S.canceled: 3}

_AGGREGATES = """
SELECT payment_intent_id AS id,
  coalesce(sum(amount) FILTER (WHERE name = 'Paid'), 0)::text AS paid,
  coalesce(sum(amount) FILTER (WHERE name = 'Paid' AND block_number <= $2), 0)::text AS paid_c,
  coalesce(sum(amount) FILTER (WHERE name = 'Deposited'), 0)::text AS dep,
  coalesce(sum(amount) FILTER (WHERE name = 'Deposited' AND block_number <= $2), 0)::text AS dep_c,
  coalesce(sum(amount) FILTER (WHERE name = 'Captured'), 0)::text AS cap,
  coalesce(sum(amount) FILTER (WHERE name = 'Captured' AND block_number <= $2), 0)::text AS cap_c,
  coalesce(sum(amount) FILTER (WHERE name = 'Refunded'), 0)::text AS ref,
  coalesce(sum(amount) FILTER (WHERE name = 'Refunded' AND block_number <= $2), 0)::text AS ref_c,
  coalesce(sum(amount) FILTER (WHERE name IN ('Voided', 'Reclaimed')), 0)::text AS rel,
  coalesce(bool_or(name IN ('Voided', 'Reclaimed')), false) AS closed,
  coalesce(bool_or(name IN ('Voided', 'Reclaimed') AND block_number <= $2), false) AS closed_c,
  coalesce(bool_or(name = 'Reclaimed'), false) AS reclaimed
FROM onchain_events WHERE payment_intent_id = ANY($1::varchar[]) GROUP BY payment_intent_id
"""

#: The moved intents travel as one JSON text (built in the batch's worker thread): asyncpg encodes an
#: array element in ~1 µs (it inspects each one for nesting), so seven arrays of parameters cost the
#: batch's connection ~20 µs an intent before PostgreSQL saw them; one text costs nothing and
#: PostgreSQL reads it in ~1-2 µs a row. Amounts are JSON strings (exact at any size). Like `unnest`,
#: `json_to_recordset` is estimated small, so the join stays on the primary key.
_UPDATE = """
UPDATE payment_intents AS p SET status = v.status, amount_received = v.received,
    amount_capturable = v.capturable, amount_refunded = v.refunded,
    canceled_at = v.canceled_at, cancellation_reason = v.reason, updated_at = now()
FROM json_to_recordset($1::json) AS v(id varchar, status varchar, received numeric, capturable numeric,
    refunded numeric, canceled_at timestamptz, reason varchar)
WHERE p.id = v.id
"""


@dataclass(frozen=True)
class Target:
    status: S
    received: int
    capturable: int
    refunded: int
    partial: bool = False  # escrow funded below the amount (partial deposits)
    reclaimed: bool = False


def target_of(intent: IntentRecord, agg: Mapping[str, Any] | None) -> Target:
    """What the events say the intent is: amounts from all events, status from the confirmed ones."""
    if agg is None:
        agg = {}

    def g(key: str) -> int:
        return int(agg.get(key) or 0)

    if CaptureMethod(intent.capture_method) == CaptureMethod.automatic:
        paid, paid_c = g("paid"), g("paid_c")
        status = S.succeeded if paid_c else (S.processing if paid else S.requires_payment)
        return Target(status, paid, 0, int(intent.amount_refunded))
    dep, cap, ref, rel = g("dep"), g("cap"), g("ref"), g("rel")
    closed = bool(agg.get("closed"))
    capturable = 0 if closed else dep - cap - ref
    status = _escrow_status(g("dep_c"), g("cap_c"), g("ref_c"), bool(agg.get("closed_c")))
    if status == S.requires_payment and dep > 0:
        status = S.processing
    return Target(
        status,
        dep,
        capturable,
        ref + rel,
        partial=0 < dep < int(intent.amount),
        reclaimed=bool(agg.get("reclaimed")),
    )


def _escrow_status(dep: int, cap: int, ref: int, closed: bool) -> S:
    """As sluice.intents.escrow.apply_escrow_state reads the contract's escrow state."""
    if dep == 0:
        return S.requires_payment
    if closed:
        return S.succeeded if cap > 0 else S.canceled
    if dep - cap - ref > 0:
        return S.requires_capture
    return S.succeeded if cap > 0 else S.canceled


def _event_for(new: S, partial: bool) -> EventType:
    return {
        S.processing: EventType.payment_intent_processing,
        S.requires_capture: (
            EventType.payment_intent_partially_funded
            if partial
            else EventType.payment_intent_requires_capture
        ),
        S.succeeded: EventType.payment_intent_succeeded,
        S.canceled: EventType.payment_intent_canceled,
        S.requires_payment: EventType.payment_intent_reverted,
    }[new]


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
    """Each intent's sums (decimal text) over its stored events (all, and those at or below
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
    """Moves the (locked) intents to what their events say (`after_reorg` lets statuses go backwards)
    and builds what records it: the UPDATE's JSON rows and the outbox events with their payloads (the
    intents' API views, carrying the fiat-priced intents' `quotes` as the API does). Pure
    computation: the batch runs it in a thread."""
    updates: list[dict[str, Any]] = []
    events: list[NewEvent] = []
    now = utcnow()
    for intent in intents:
        change = _apply(intent, target_of(intent, aggregates.get(intent.id)), after_reorg, now)
        if change is None:
            continue
        previous, event_type = change
        updates.append(
            {
                "id": intent.id,
                "status": str(intent.status),
                "received": str(intent.amount_received),
                "capturable": str(intent.amount_capturable),
                "refunded": str(intent.amount_refunded),
                "canceled_at": intent.canceled_at,
                "reason": intent.cancellation_reason,
            }
        )
        if event_type is not None:
            quote = quotes.get(intent.quote_id) if intent.quote_id else None
            events.append(
                intent_event(intent, event_type, checkout_base_url, quote=quote, previous_attributes=previous)
            )
    return Writes(orjson.dumps(updates).decode() if updates else None, outbox_rows(events), events)


async def apply_writes(conn: asyncpg.Connection, writes: Writes) -> None:
    """The intents' UPDATE and their outbox rows (COPY), in the caller's transaction."""
    if writes.update is not None:
        await conn.execute(_UPDATE, writes.update)
    if writes.events:
        await insert_outbox(conn, writes.outbox)


def _apply(
    intent: IntentRecord, target: Target, after_reorg: bool, now: Any
) -> tuple[dict[str, Any], EventType | None] | None:
    """Moves one intent towards `target`; returns (previous attributes, event type) or None if unchanged."""
    current = S(intent.status)
    before = {
        "status": current.value,
        "amount_received": str(intent.amount_received),
        "amount_capturable": str(intent.amount_capturable),
        "amount_refunded": str(intent.amount_refunded),
    }
    event_type: EventType | None = None
    new = target.status
    backwards = _RANK.get(new, 0) < _RANK.get(current, 0)
    if current in (S.canceled, S.expired) and new != current:
        if target.received != intent.amount_received:
            log.warning("indexer_funds_for_closed_intent", intent=intent.id, status=current.value)
    elif new != current and (after_reorg or not backwards) and can_transition(current, new):
        transition(intent, new, action="index")
        event_type = EventType.payment_intent_reverted if backwards else _event_for(new, target.partial)
        if new == S.canceled and intent.canceled_at is None:
            intent.canceled_at = now
            intent.cancellation_reason = "reclaimed" if target.reclaimed else "void"
    if (after_reorg or not backwards) or event_type is not None:
        received_before = intent.amount_received
        capturable_before = intent.amount_capturable
        intent.amount_received = target.received
        intent.amount_capturable = target.capturable
        intent.amount_refunded = target.refunded
        if event_type is None and CaptureMethod(intent.capture_method) == CaptureMethod.manual:
            if target.received > received_before and target.partial:
                event_type = EventType.payment_intent_partially_funded
            elif target.capturable != capturable_before:
                event_type = EventType.payment_intent_amount_capturable_updated
    after = {
        "status": str(intent.status),
        "amount_received": str(intent.amount_received),
        "amount_capturable": str(intent.amount_capturable),
        "amount_refunded": str(intent.amount_refunded),
    }
    if after == before:
        return None
    return {k: v for k, v in before.items() if after[k] != v}, event_type
