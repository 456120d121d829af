"""Applying the stored events to payment intents: amounts and status recomputed from the canonical events.

An intent's amounts are derived from all its stored events and its status from those at or below
the confirmed height (with `processing` while funds are seen but not yet confirmed). Deriving from
the event set, never incrementing, is what makes a batch idempotent and a reorg a plain recompute
after deleting the removed blocks' rows.

Status only moves forward (requires_payment → processing → requires_capture → succeeded/canceled)
except after a reorganisation, which may move it back and then records `payment_intent.reverted`.
Every change goes through `sluice.intents.states.transition` and records its event in the outbox
(`sluice.events.service.record_events`) in the batch's transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.base import Money, utcnow
from sluice.events.service import EventType, NewEvent, intent_event, quotes_of, record_events
from sluice.intents.states import can_transition, transition
from sluice.models.payment_intent import CaptureMethod, PaymentIntent
from sluice.models.payment_intent import PaymentIntentStatus as S

log = structlog.get_logger(__name__)

_RANK = {S.requires_payment: 0, S.processing: 1, S.requires_capture: 2, S.succeeded: 3, S.canceled: 3}

_AGGREGATES = """
SELECT payment_intent_id AS id,
  coalesce(sum(amount) FILTER (WHERE name = 'Paid'), 0) AS paid,
  coalesce(sum(amount) FILTER (WHERE name = 'Paid' AND block_number <= $2), 0) AS paid_c,
  coalesce(sum(amount) FILTER (WHERE name = 'Deposited'), 0) AS dep,
  coalesce(sum(amount) FILTER (WHERE name = 'Deposited' AND block_number <= $2), 0) AS dep_c,
  coalesce(sum(amount) FILTER (WHERE name = 'Captured'), 0) AS cap,
  coalesce(sum(amount) FILTER (WHERE name = 'Captured' AND block_number <= $2), 0) AS cap_c,
  coalesce(sum(amount) FILTER (WHERE name = 'Refunded'), 0) AS ref,
  coalesce(sum(amount) FILTER (WHERE name = 'Refunded' AND block_number <= $2), 0) AS ref_c,
  coalesce(sum(amount) FILTER (WHERE name IN ('Voided', 'Reclaimed')), 0) AS rel,
  coalesce(bool_or(name IN ('Voided', 'Reclaimed')), false) AS closed,
  coalesce(bool_or(name IN ('Voided', 'Reclaimed') AND block_number <= $2), false) AS closed_c,
  coalesce(bool_or(name = 'Reclaimed'), false) AS reclaimed,
  (array_agg(payer ORDER BY block_number, log_index) FILTER (WHERE name IN ('Paid', 'Deposited')))[1] AS payer
FROM onchain_events WHERE payment_intent_id = ANY($1::varchar[]) GROUP BY payment_intent_id
"""

_UPDATE = """
UPDATE payment_intents AS p SET status = v.status, amount_received = v.received,
    amount_capturable = v.capturable, amount_refunded = v.refunded, canceled_at = v.canceled_at,
    cancellation_reason = v.reason, updated_at = now()
FROM unnest($1::varchar[], $2::varchar[], $3::numeric[], $4::numeric[], $5::numeric[], $6::timestamptz[],
    $7::varchar[]) AS v(id, status, received, capturable, refunded, canceled_at, reason)
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


def target_of(intent: PaymentIntent, agg: dict[str, Any] | None) -> Target:
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


def _intent_columns() -> list[tuple[str, str, bool]]:
    """(attribute, column, is Money) of every mapped column of PaymentIntent."""
    return [
        (prop.key, prop.columns[0].name, isinstance(prop.columns[0].type, Money))
        for prop in sa_inspect(PaymentIntent).column_attrs
    ]


_COLUMNS = _intent_columns()
_MONEY = frozenset(key for key, _, money in _COLUMNS if money)
#: Column names come from the model's mapper, never from input.
_SELECT_INTENTS = "SELECT {} FROM payment_intents WHERE {{}} ORDER BY id FOR UPDATE".format(  # noqa: S608
    ", ".join(f'"{name}"' for _, name, _ in _COLUMNS)
)
_LOCK_BY_ID = _SELECT_INTENTS.format("id = ANY($1::varchar[])")
_LOCK_BY_ONCHAIN_ID = _SELECT_INTENTS.format("onchain_id = ANY($1::bytea[])")


async def lock_intents(
    conn: asyncpg.Connection, *, ids: Sequence[str] = (), onchain_ids: Sequence[bytes] = ()
) -> list[PaymentIntent]:
    """Loads and row-locks intents by API id or on-chain id, as detached PaymentIntent objects.

    The locks serialise with the API (cancel, relayed captures) writing the same intents; detached,
    the objects are only written by refresh_intents' set-based UPDATE, never flushed row by row.
    Built from plain asyncpg rows (values as the ORM would load them: Money as int, JSONB decoded by
    the connection's codec) rather than through the ORM's loading, which cost ~3x as much per row.
    """
    if not ids and not onchain_ids:
        return []
    # `= ANY(array)`: one parameter however many keys (IN would bind and parse one per key).
    if ids:
        rows = await conn.fetch(_LOCK_BY_ID, sorted(set(ids)))
    else:
        rows = await conn.fetch(_LOCK_BY_ONCHAIN_ID, list(set(onchain_ids)))
    new_instance = sa_inspect(PaymentIntent).class_manager.new_instance
    keys = [key for key, _, _ in _COLUMNS]
    intents = []
    for row in rows:
        intent = new_instance()
        values = dict(zip(keys, row, strict=True))
        for key in _MONEY:
            if values[key] is not None:
                values[key] = int(values[key])
        intent.__dict__.update(values)  # loaded state, as the ORM's loader sets it
        intents.append(intent)
    return intents


async def refresh_intents(
    session: AsyncSession,
    conn: asyncpg.Connection,
    intent_ids: Sequence[str],
    confirmed_block: int,
    checkout_base_url: str,
    *,
    after_reorg: bool = False,
    loaded: Mapping[str, PaymentIntent] | None = None,
) -> list[NewEvent]:
    """Recomputes the intents from their events, writes the changes and their outbox events.

    Returns the recorded events. `after_reorg` lets statuses move backwards (with a `reverted` event).
    `loaded` holds intents already locked by `lock_intents` in this transaction.
    """
    if not intent_ids:
        return []
    ids = sorted(set(intent_ids))
    rows = await conn.fetch(_AGGREGATES, ids, confirmed_block)
    aggregates = {r["id"]: dict(r) for r in rows}
    loaded = loaded or {}
    intents = [loaded[i] for i in ids if i in loaded]
    intents += await lock_intents(conn, ids=[i for i in ids if i not in loaded])
    updates: list[tuple[Any, ...]] = []
    announce: list[tuple[PaymentIntent, EventType, dict[str, Any]]] = []
    now = utcnow()
    for intent in intents:
        change = _apply(intent, target_of(intent, aggregates.get(intent.id)), after_reorg, now)
        if change is None:
            continue
        previous, event_type = change
        updates.append(
            (
                intent.id,
                str(intent.status),
                intent.amount_received,
                intent.amount_capturable,
                intent.amount_refunded,
                intent.canceled_at,
                intent.cancellation_reason,
            )
        )
        if event_type is not None:
            announce.append((intent, event_type, previous))
    # Fiat-priced intents' quotes, before any statement runs in the background (the session and
    # `conn` are one connection).
    quotes = await quotes_of(session, (intent for intent, _, _ in announce))
    # The database works on one statement while Python builds the next chunk's payloads (the
    # intents' API views, the costliest Python step): both cores busy instead of taking turns.
    pending: asyncio.Task[Any] | None = None
    events: list[NewEvent] = []
    try:
        if updates:
            columns = (list(col) for col in zip(*updates, strict=True))
            pending = await _started(conn.execute(_UPDATE, *columns))
        for start in range(0, len(announce), _CHUNK):
            chunk = [
                intent_event(
                    intent,
                    event_type,
                    checkout_base_url,
                    quote=quotes.get(intent.quote_id) if intent.quote_id else None,
                    previous_attributes=previous,
                )
                for intent, event_type, previous in announce[start : start + _CHUNK]
            ]
            if pending is not None:
                await pending
            pending = await _started(record_events(session, chunk))
            events.extend(chunk)
        if pending is not None:
            await pending
    finally:
        # Never leave a statement running on the connection the caller is about to roll back.
        if pending is not None and not pending.done():
            await asyncio.wait([pending])
    return events


#: Outbox events built and inserted per statement while the next chunk is built.
_CHUNK = 1000


async def _started(work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Runs `work` as a task and lets it send its statement before returning."""
    task = asyncio.ensure_future(work)
    for _ in range(3):  # SQLAlchemy's path takes a few loop turns to reach the socket
        await asyncio.sleep(0)
    return task


def _apply(
    intent: PaymentIntent, target: Target, after_reorg: bool, now: Any
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
