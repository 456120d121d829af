"""The one rule that decides an intent's status, amounts and announced events.

Every caller goes through here: the indexers (ledger entries observed on any rail), the API's escrow
operations (the escrow's state read after a relayed capture, refund or void), cancel, and the expiry
job. Nothing else decides a status.

`decide` is a pure function of the intent and the sums of its ledger entries: `seen` over every
stored entry and `final` over those at or below the finality height. Amounts come from `seen`
(what the chain shows now), the status from `final` (with `processing` while funds are seen but not
yet final). Deriving from sums, never incrementing, makes applying the same entries twice a no-op
and a reorganisation a plain recompute after the removed entries are deleted. Statuses only move
forwards, except after a reorganisation (`after_reorg`), which may move them back and announces
`payment_intent.reverted`.

Payments that do not fit are represented, not dropped: `amount_received` shows every base unit
received; events announce partial funding, over-payment, funds received for an intent that was
already canceled or expired, and an intent that expires under-paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sluice.errors import InvalidStateError
from sluice.events.types import EventType
from sluice.intents.status import CaptureMethod
from sluice.intents.status import PaymentIntentStatus as S
from sluice.ledger.entries import EntryKind, ReleaseReason

if TYPE_CHECKING:
    from sluice.intents.record import IntentRecord

#: How far along the observed statuses are: entries move an intent forwards, and only a
#: reorganisation (which removes entries) moves it back.
_RANK = {S.requires_payment: 0, S.processing: 1, S.requires_capture: 2, S.succeeded: 3, S.canceled: 3}
#: The statuses the merchant's commands start from.
_COMMANDS: dict[str, frozenset[S]] = {
    "cancel": frozenset({S.requires_payment, S.requires_capture}),
    "expire": frozenset({S.requires_payment}),
}
#: Cancellation reasons the chain decided (an escrow voided or reclaimed, or refunded in full): a
#: reorganisation that removes the entries behind them re-opens the intent. Any other reason is the
#: merchant's own cancel, which nothing re-opens.
CHAIN_REASONS = frozenset({"void", "reclaimed"})


@dataclass(slots=True)
class Sums:
    """What a set of an intent's ledger entries adds up to, in base units."""

    received: int = 0
    deposited: int = 0
    captured: int = 0
    refunded: int = 0
    released: int = 0
    #: An escrow release (void or reclaim) closed the escrow.
    closed: bool = False
    #: The release was the payer's reclaim.
    reclaimed: bool = False
    #: How many entries brought an asset the intent did not ask for (`stray`; they count toward nothing).
    strays: int = 0

    @classmethod
    def of(cls, entries: Iterable[Any]) -> Sums:
        """The sums of entries with `kind`, `amount` and `reason` (LedgerEntry or stored rows)."""
        totals = dict.fromkeys(("received", "deposited", "captured", "refunded", "released"), 0)
        closed = reclaimed = False
        strays = 0
        for e in entries:
            kind = EntryKind(e.kind)
            if kind == EntryKind.stray:
                strays += 1
                continue
            if kind == EntryKind.swept:  # money moving on to the merchant: no intent amount changes
                continue
            key = "deposited" if kind == EntryKind.escrow_deposited else kind.value
            totals[key] += int(e.amount)
            if kind == EntryKind.released:
                closed = True
                reclaimed = reclaimed or e.reason == ReleaseReason.reclaimed
        return cls(**totals, closed=closed, reclaimed=reclaimed, strays=strays)


@dataclass(slots=True)
class Totals:
    """An intent's entries: all that are stored (`seen`), and those at or below the finality height."""

    seen: Sums = field(default_factory=Sums)
    final: Sums = field(default_factory=Sums)

    @classmethod
    def of(cls, entries: Iterable[Any], final_height: int) -> Totals:
        """From entries with a `position.height` (LedgerEntry) or a `height` attribute."""
        items = list(entries)
        final = [e for e in items if _height(e) <= final_height]
        return cls(Sums.of(items), Sums.of(final))

    @classmethod
    def settled(cls, sums: Sums) -> Totals:
        """A state the chain reports as current and that the caller treats as final (the escrow's
        own state, read after the operator's relayed call was mined)."""
        return cls(sums, sums)


def _height(entry: Any) -> int:
    position = getattr(entry, "position", None)
    return int(position.height if position is not None else entry.height)


@dataclass(slots=True)
class Decision:
    """What an intent becomes: its new fields, the events that announce the change (in order) and the
    changed fields' previous values."""

    status: S
    amount_received: int
    amount_capturable: int
    amount_refunded: int
    canceled_at: datetime | None
    cancellation_reason: str | None
    events: tuple[EventType, ...]
    previous: dict[str, str]
    #: The stray deposits counted (None: unchanged).
    stray_deposits: int | None = None

    def apply(self, intent: IntentRecord) -> None:
        """Writes the decision into the intent (an ORM instance or a plain record)."""
        intent.status = self.status
        intent.amount_received = self.amount_received
        intent.amount_capturable = self.amount_capturable
        intent.amount_refunded = self.amount_refunded
        intent.canceled_at = self.canceled_at
        intent.cancellation_reason = self.cancellation_reason
        if self.stray_deposits is not None:
            intent.stray_deposits = self.stray_deposits


@dataclass(slots=True)
class _Target:
    status: S
    received: int
    capturable: int
    refunded: int
    partial: bool
    reclaimed: bool


def _target(intent: IntentRecord, totals: Totals) -> _Target:
    """What the entries say the intent is."""
    amount = int(intent.amount)
    seen, final = totals.seen, totals.final
    if intent.capture_method == CaptureMethod.automatic:
        if final.received >= amount:
            status = S.succeeded
        elif seen.received >= amount:
            status = S.processing
        else:
            status = S.requires_payment
        # Refunded: a deposit address's over- or late payment refunded by the merchant (the only
        # refunds of an automatic intent the chain reports; refunds from the merchant's own wallet are
        # not seen).
        return _Target(
            status,
            seen.received,
            0,
            seen.refunded,
            partial=0 < seen.received < amount,
            reclaimed=False,
        )
    capturable = 0 if seen.closed else seen.deposited - seen.captured - seen.refunded
    status = _escrow_status(final, amount)
    if status == S.requires_payment and seen.deposited > 0:
        status = S.processing
    return _Target(
        status,
        seen.deposited,
        capturable,
        seen.refunded + seen.released,
        partial=0 < seen.deposited < amount,
        reclaimed=seen.reclaimed,
    )


def _escrow_status(s: Sums, amount: int) -> S:
    """An escrow is settled once it is closed, or once it was funded in full and nothing in it is
    left to capture; until then (funds held, or a partial escrow that may still receive deposits)
    it waits for the merchant."""
    if s.deposited == 0:
        return S.requires_payment
    settled = s.closed or (s.deposited >= amount and s.deposited - s.captured - s.refunded == 0)
    if not settled:
        return S.requires_capture
    return S.succeeded if s.captured > 0 else S.canceled


def _status_event(new: S, partial: bool) -> EventType:
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


def snapshot(intent: IntentRecord) -> dict[str, str]:
    """The watched fields as the API shows them."""
    return {
        "status": str(S(intent.status).value),
        "amount_received": str(intent.amount_received),
        "amount_capturable": str(intent.amount_capturable),
        "amount_refunded": str(intent.amount_refunded),
    }


def decide(
    intent: IntentRecord, totals: Totals, *, now: datetime, after_reorg: bool = False
) -> Decision | None:
    """The intent moved to what its entries say, or None when nothing changes.

    The indexer calls it for every intent it touches (thousands a second in a backfill): plain
    comparisons first, the previous attributes built only when something changed."""
    current = S(intent.status)
    old_received = int(intent.amount_received)
    old_capturable = int(intent.amount_capturable)
    old_refunded = int(intent.amount_refunded)
    target = _target(intent, totals)
    manual = intent.capture_method == CaptureMethod.manual
    status = current
    canceled_at, reason = intent.canceled_at, intent.cancellation_reason
    events: list[EventType] = []
    backwards = _RANK.get(target.status, 0) < _RANK.get(current, 0)
    # Expired, or canceled by the merchant: final whatever arrives (late funds are still counted).
    locked = current == S.expired or (current == S.canceled and reason not in CHAIN_REASONS)
    if not locked and target.status != current and (after_reorg or not backwards):
        status = target.status
        events.append(
            EventType.payment_intent_reverted if backwards else _status_event(status, target.partial)
        )
        if status == S.canceled:
            canceled_at = canceled_at or now
            reason = "reclaimed" if target.reclaimed else "void"
        elif current == S.canceled:  # a reorganisation removed the release: open again
            canceled_at = reason = None
    if after_reorg or not backwards or events:
        received, capturable, refunded = target.received, target.capturable, target.refunded
    else:
        received, capturable, refunded = old_received, old_capturable, old_refunded
    more = received > old_received
    if not events and (after_reorg or not backwards):
        if locked and more:
            events.append(EventType.payment_intent_late_payment)
        elif more and target.partial and (manual or status == S.requires_payment):
            events.append(EventType.payment_intent_partially_funded)
        elif manual and capturable != old_capturable:
            events.append(EventType.payment_intent_amount_capturable_updated)
    if more and received > int(intent.amount):
        events.append(EventType.payment_intent_overpaid)
    old_strays = int(intent.stray_deposits or 0)
    strays = totals.seen.strays
    if strays > old_strays:
        events.append(EventType.payment_intent_stray_deposit)
    if (
        strays == old_strays
        and status == current
        and (received, capturable, refunded) == (old_received, old_capturable, old_refunded)
        and canceled_at == intent.canceled_at
        and reason == intent.cancellation_reason
    ):
        return None
    previous: dict[str, str] = {}
    if status != current:
        previous["status"] = current.value
    if received != old_received:
        previous["amount_received"] = str(old_received)
    if capturable != old_capturable:
        previous["amount_capturable"] = str(old_capturable)
    if refunded != old_refunded:
        previous["amount_refunded"] = str(old_refunded)
    return Decision(
        status,
        received,
        capturable,
        refunded,
        canceled_at,
        reason,
        tuple(events),
        previous,
        strays if strays != old_strays else None,
    )


def cancel(
    intent: IntentRecord, reason: str | None, *, now: datetime, totals: Totals | None = None
) -> Decision:
    """The merchant cancels: the intent becomes canceled (after a void, with the escrow's `totals`);
    raises InvalidStateError when its status allows no cancel."""
    current = S(intent.status)
    _check(current, "cancel")
    before = snapshot(intent)
    target = _target(intent, totals) if totals is not None else None
    received = target.received if target else int(intent.amount_received)
    capturable = target.capturable if target else int(intent.amount_capturable)
    refunded = target.refunded if target else int(intent.amount_refunded)
    after = {
        "status": S.canceled.value,
        "amount_received": str(received),
        "amount_capturable": str(capturable),
        "amount_refunded": str(refunded),
    }
    return Decision(
        S.canceled,
        received,
        capturable,
        refunded,
        now,
        reason or "requested_by_customer",
        (EventType.payment_intent_canceled,),
        {k: v for k, v in before.items() if after[k] != v},
    )


def expire(intent: IntentRecord) -> Decision:
    """The deadline passed unpaid: the intent expires, announced as under-paid too when it received
    part of its amount. Raises InvalidStateError when its status allows no expiry."""
    current = S(intent.status)
    _check(current, "expire")
    received = int(intent.amount_received)
    events = [EventType.payment_intent_expired]
    if 0 < received < int(intent.amount):
        events.append(EventType.payment_intent_underpaid)
    return Decision(
        S.expired,
        received,
        int(intent.amount_capturable),
        int(intent.amount_refunded),
        intent.canceled_at,
        intent.cancellation_reason,
        tuple(events),
        {"status": current.value},
    )


def _check(current: S, action: str) -> None:
    if current not in _COMMANDS[action]:
        raise InvalidStateError(
            f"cannot {action} a payment intent in status {current.value!r}",
            code="payment_intent_unexpected_state",
        )
