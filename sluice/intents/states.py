"""The intent state machine: every status change goes through `transition`, which refuses invalid moves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sluice.errors import InvalidStateError
from sluice.intents.status import PaymentIntentStatus as S

if TYPE_CHECKING:
    from sluice.intents.record import AnyIntent

ALLOWED: dict[S, frozenset[S]] = {
    S.requires_payment: frozenset({S.processing, S.succeeded, S.requires_capture, S.canceled, S.expired}),
    # A reorganisation can take a payment back to requires_payment.
    S.processing: frozenset({S.succeeded, S.requires_capture, S.requires_payment}),
    S.requires_capture: frozenset({S.succeeded, S.canceled, S.requires_payment}),
    S.succeeded: frozenset({S.requires_payment, S.processing}),
    S.canceled: frozenset(),
    S.expired: frozenset(),
}


def can_transition(current: S, new: S) -> bool:
    return new in ALLOWED[current]


def transition(intent: AnyIntent, new: S, *, action: str | None = None) -> None:
    """Moves `intent` to `new` or raises InvalidStateError naming the current status."""
    current = S(intent.status)
    if not can_transition(current, new):
        raise InvalidStateError(
            f"cannot {action or 'move'} a payment intent in status {current.value!r}"
            + (f" (to {new.value!r})" if action is None else ""),
            code="payment_intent_unexpected_state",
        )
    intent.status = new
