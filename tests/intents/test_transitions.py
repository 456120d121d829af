"""The transitions against a small model: any order of entries, any batching, any reorganisation that
removes a suffix ends in the state a fresh replay of the remaining entries gives."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.errors import InvalidStateError
from sluice.events.types import EventType
from sluice.intents.transitions import Sums, Totals, cancel, decide, expire
from sluice.ledger.entries import EntryKind, ReleaseReason

NOW = datetime(2026, 12, 7, tzinfo=UTC)
EXAMPLES = 500


@dataclass
class Intent:
    """The fields the transitions read and write (what IntentRecord and the ORM model carry)."""

    capture_method: str
    amount: int
    status: str = "requires_payment"
    amount_received: int = 0
    amount_capturable: int = 0
    amount_refunded: int = 0
    canceled_at: datetime | None = None
    cancellation_reason: str | None = None
    stray_deposits: int = 0

    def state(self) -> tuple[object, ...]:
        return (self.status, self.amount_received, self.amount_capturable, self.amount_refunded)


@dataclass(frozen=True)
class Entry:
    kind: EntryKind
    amount: int
    height: int
    reason: ReleaseReason | None = None


def model(capture_method: str, amount: int, entries: list[Entry], final: int) -> tuple[object, ...]:
    """What the intent is, computed directly and naively from the entries."""
    seen = {k: 0 for k in EntryKind}
    fin = {k: 0 for k in EntryKind}
    closed = closed_final = False
    for e in entries:
        seen[e.kind] += e.amount
        closed |= e.kind == EntryKind.released
        if e.height <= final:
            fin[e.kind] += e.amount
            closed_final |= e.kind == EntryKind.released
    if capture_method == "automatic":
        got, got_final = seen[EntryKind.received], fin[EntryKind.received]
        status = "succeeded" if got_final >= amount else "processing" if got >= amount else "requires_payment"
        return (status, got, 0, 0)
    dep, cap, ref, rel = (seen[k] for k in (EntryKind.escrow_deposited, EntryKind.captured,
                                            EntryKind.refunded, EntryKind.released))  # fmt: skip
    fdep, fcap, fref = fin[EntryKind.escrow_deposited], fin[EntryKind.captured], fin[EntryKind.refunded]
    if fdep == 0:
        status = "processing" if dep > 0 else "requires_payment"
    elif closed_final or (fdep >= amount and fdep - fcap - fref == 0):
        status = "succeeded" if fcap > 0 else "canceled"
    else:  # funds held, or a partial escrow that may still receive deposits
        status = "requires_capture"
    return (status, dep, 0 if closed else dep - cap - ref, ref + rel)


@st.composite
def histories(draw: st.DrawFn) -> tuple[str, int, list[Entry]]:
    """An intent and a valid history of its entries in chain order (heights never decrease)."""
    capture_method = draw(st.sampled_from(["automatic", "manual"]))
    amount = draw(st.integers(1, 1000))
    entries: list[Entry] = []
    height = 0
    if capture_method == "automatic":  # plain transfers: parts, over-payment, several payments
        for part in draw(st.lists(st.integers(1, 1500), max_size=5)):
            height += draw(st.integers(0, 3))
            entries.append(Entry(EntryKind.received, part, height))
        return capture_method, amount, entries
    open_ = deposited = 0
    for _ in range(draw(st.integers(0, 7))):
        height += draw(st.integers(0, 3))
        choices = ["deposit"] if deposited < amount else []
        if open_ > 0:
            choices += ["capture", "refund", "release"]
        if not choices:
            break
        op = draw(st.sampled_from(choices))
        if op == "deposit":
            part = draw(st.integers(1, amount - deposited))
            deposited += part
            open_ += part
            entries.append(Entry(EntryKind.escrow_deposited, part, height))
        elif op in ("capture", "refund"):
            part = draw(st.integers(1, open_))
            open_ -= part
            kind = EntryKind.captured if op == "capture" else EntryKind.refunded
            entries.append(Entry(kind, part, height))
        else:
            reason = draw(st.sampled_from(list(ReleaseReason)))
            entries.append(Entry(EntryKind.released, open_, height, reason))
            break
    return capture_method, amount, entries


def replay(intent: Intent, entries: list[Entry], final: int, *, after_reorg: bool = False) -> list[str]:
    """Applies one decision for `entries` at finality height `final`; returns the announced events."""
    decision = decide(intent, Totals.of(entries, final), now=NOW, after_reorg=after_reorg)
    if decision is None:
        return []
    decision.apply(intent)
    return [str(e) for e in decision.events]


@settings(max_examples=EXAMPLES, deadline=None)
@given(histories(), st.data())
def test_any_order_and_any_finality_match_the_model(history, data):
    capture_method, amount, entries = history
    final = data.draw(st.integers(-1, 30))
    shuffled = data.draw(st.permutations(entries))
    intent = Intent(capture_method, amount)
    replay(intent, list(shuffled), final)
    assert intent.state() == model(capture_method, amount, entries, final)


@settings(max_examples=EXAMPLES, deadline=None)
@given(histories(), st.data())
def test_batches_with_rising_finality_end_as_a_fresh_replay(history, data):
    capture_method, amount, entries = history
    confirmations = data.draw(st.integers(0, 4))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(entries)), max_size=4)))
    incremental = Intent(capture_method, amount)
    for cut in [*cuts, len(entries)]:
        seen = entries[:cut]
        head = max((e.height for e in seen), default=0)
        replay(incremental, seen, head - confirmations)
    replay(incremental, entries, 10**9)  # everything final at last
    fresh = Intent(capture_method, amount)
    replay(fresh, entries, 10**9)
    assert incremental.state() == fresh.state() == model(capture_method, amount, entries, 10**9)


@settings(max_examples=EXAMPLES, deadline=None)
@given(histories(), st.data())
def test_a_reorg_removing_a_suffix_ends_as_a_fresh_replay_of_what_is_left(history, data):
    capture_method, amount, entries = history
    top = max((e.height for e in entries), default=0)
    final = data.draw(st.integers(-1, top + 1))
    intent = Intent(capture_method, amount)
    replay(intent, entries, final)
    ancestor = data.draw(st.integers(-1, top))
    kept = [e for e in entries if e.height <= ancestor]
    events = replay(intent, kept, min(final, ancestor), after_reorg=True)
    fresh = Intent(capture_method, amount)
    replay(fresh, kept, min(final, ancestor))
    assert intent.state() == fresh.state()
    ranks = {"requires_payment": 0, "processing": 1, "requires_capture": 2, "succeeded": 3, "canceled": 3}
    went_back = ranks[fresh.status] < ranks[model(capture_method, amount, entries, final)[0]]  # type: ignore[index]
    assert ("payment_intent.reverted" in events) == went_back


@settings(max_examples=EXAMPLES, deadline=None)
@given(histories())
def test_applying_the_same_entries_twice_changes_nothing(history):
    capture_method, amount, entries = history
    intent = Intent(capture_method, amount)
    replay(intent, entries, 10**9)
    before = replace(intent)
    assert decide(intent, Totals.of(entries, 10**9), now=NOW) is None
    assert intent == before


def test_over_partial_and_late_payments_are_announced():
    intent = Intent("automatic", 100)
    assert replay(intent, [Entry(EntryKind.received, 40, 1)], 1) == ["payment_intent.partially_funded"]
    assert intent.state() == ("requires_payment", 40, 0, 0)
    events = replay(intent, [Entry(EntryKind.received, 40, 1), Entry(EntryKind.received, 70, 2)], 2)
    assert events == ["payment_intent.succeeded", "payment_intent.overpaid"]
    assert intent.state() == ("succeeded", 110, 0, 0)

    expired = Intent("automatic", 100, amount_received=30)
    decision = expire(expired)
    assert [str(e) for e in decision.events] == ["payment_intent.expired", "payment_intent.underpaid"]
    decision.apply(expired)
    late = replay(expired, [Entry(EntryKind.received, 30, 1), Entry(EntryKind.received, 70, 5)], 5)
    assert late == ["payment_intent.late_payment"]
    assert expired.state() == ("expired", 100, 0, 0)


def test_a_stray_deposit_counts_toward_nothing_and_is_announced_once():
    intent = Intent("automatic", 100)
    stray = Entry(EntryKind.stray, 500, 1)
    assert replay(intent, [stray], 1) == ["payment_intent.stray_deposit"]
    assert intent.state() == ("requires_payment", 0, 0, 0) and intent.stray_deposits == 1
    assert replay(intent, [stray], 1) == []
    paid = replay(intent, [stray, Entry(EntryKind.received, 100, 2)], 2)
    assert paid == ["payment_intent.succeeded"] and intent.amount_received == 100
    assert replay(intent, [stray, Entry(EntryKind.received, 100, 2), Entry(EntryKind.stray, 1, 3)], 3) == [
        "payment_intent.stray_deposit"
    ]
    assert intent.stray_deposits == 2


def test_a_merchant_cancel_is_final_but_a_voided_escrow_reopens_after_a_reorg():
    deposit = Entry(EntryKind.escrow_deposited, 100, 1)
    void = Entry(EntryKind.released, 100, 2, ReleaseReason.void)
    voided = Intent("manual", 100)
    replay(voided, [deposit, void], 2)
    assert (voided.status, voided.cancellation_reason) == ("canceled", "void")
    assert replay(voided, [deposit], 1, after_reorg=True) == ["payment_intent.reverted"]
    assert (voided.status, voided.canceled_at, voided.amount_capturable) == ("requires_capture", None, 100)

    merchant = Intent("manual", 100)
    replay(merchant, [deposit], 1)
    decision = cancel(merchant, None, now=NOW, totals=Totals.settled(Sums(deposited=100, released=100,
                                                                          closed=True)))  # fmt: skip
    decision.apply(merchant)
    assert decision.events == (EventType.payment_intent_canceled,)
    assert merchant.cancellation_reason == "requested_by_customer" and merchant.amount_refunded == 100
    # The void is gone from the chain: the status stays the merchant's, the amounts say what the
    # escrow holds again (and the merchant hears of it).
    assert replay(merchant, [deposit], 1, after_reorg=True) == ["payment_intent.amount_capturable_updated"]
    assert merchant.state() == ("canceled", 100, 100, 0)


def test_commands_refuse_statuses_they_do_not_start_from():
    with pytest.raises(InvalidStateError):
        cancel(Intent("automatic", 1, status="succeeded"), None, now=NOW)
    with pytest.raises(InvalidStateError):
        expire(Intent("automatic", 1, status="processing"))
