"""Payments a rail rejected: announced as `payment_intent.payment_failed`, once, when first stored.

Some rails judge a payment themselves (Solana: by the recipients' balance changes, docs/solana.md).
A payment that dropped a split, paid the wrong mint, reused a reference… is stored as an entry that
credits 0 (`verdict` says why), so the transitions never count it and the intent stays unpaid. The
merchant still hears of it: in the batch that first stores such an entry, one event per rejected
transaction carries the intent as the API shows it and `last_payment_error` (Stripe's field) with
the verdict as its `code`. An entry already stored (a step repeated after a crash) is not announced
again: the entries' natural key decides what is new, in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from sluice.events.outbox import NewEvent, intent_event
from sluice.events.types import EventType
from sluice.intents.repository.intents import lock_rows, records_of
from sluice.intents.repository.outbox import insert_events
from sluice.ledger.entries import REJECTING_VERDICTS, LedgerEntry

MESSAGES = {
    "split_mismatch": "the payment did not pay every recipient its share (a split was removed or lowered)",
    "wrong_asset": "the payment moved another asset than the intent's",
    "memo_mismatch": "the payment's memo is not the intent's id",
    "ambiguous_reference": "the transaction references several open intents",
    "payer_mismatch": "another wallet than the intent's payer paid",
    "reference_reused": "the intent was already paid in full by an earlier transaction",
}


async def new_rejections(
    conn: asyncpg.Connection, network: str, entries: Sequence[LedgerEntry]
) -> list[LedgerEntry]:
    """The entries of `entries` with a rejecting verdict that are not stored yet."""
    rejected = [e for e in entries if e.verdict in REJECTING_VERDICTS]
    if not rejected:
        return []
    rows = await conn.fetch(
        "SELECT tx_id, tx_index FROM ledger_entries WHERE network = $1 AND tx_id = ANY($2::varchar[])",
        network,
        sorted({e.tx_id for e in rejected}),
    )
    known = {(r["tx_id"], r["tx_index"]) for r in rows}
    return [e for e in rejected if (e.tx_id, e.position.tx_index) not in known]


def last_payment_error(entry: LedgerEntry) -> dict[str, object]:
    verdict = str(entry.verdict)
    observed = (entry.merchant_amount or 0) + sum(entry.fee_amounts or ())
    return {
        "type": "payment_rejected",
        "code": verdict,
        "message": MESSAGES.get(verdict, verdict),
        "network": entry.network,
        "tx_id": entry.tx_id,
        "payer": entry.payer,
        "amount_observed": str(observed),
        "asset": entry.asset,
        "late": bool(entry.late),
    }


async def announce_rejections(
    conn: asyncpg.Connection, network: str, rejected: Sequence[LedgerEntry], checkout_base_url: str
) -> list[NewEvent]:
    """Writes one `payment_intent.payment_failed` event per rejected entry of an intent of `network`
    (in the caller's transaction, after the entries are stored); returns them."""
    if not rejected:
        return []
    records = records_of(await lock_rows(conn, onchain_ids=[e.intent_ref for e in rejected]))
    by_ref = {bytes(i.onchain_id): i for i in records}
    events = []
    for entry in rejected:
        intent = by_ref.get(entry.intent_ref)
        if intent is None or intent.network != network or intent.rail != entry.rail:
            continue
        event = intent_event(intent, EventType.payment_intent_payment_failed, checkout_base_url)
        event.object["last_payment_error"] = last_payment_error(entry)
        events.append(event)
    if events:
        await insert_events(conn, events)
    return events
