"""The types of events Sluice announces (webhooks, GET /v1/events)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    payment_intent_created = "payment_intent.created"
    payment_intent_processing = "payment_intent.processing"
    payment_intent_succeeded = "payment_intent.succeeded"
    payment_intent_requires_capture = "payment_intent.requires_capture"
    payment_intent_partially_funded = "payment_intent.partially_funded"
    payment_intent_canceled = "payment_intent.canceled"
    payment_intent_expired = "payment_intent.expired"
    payment_intent_reverted = "payment_intent.reverted"
    payment_intent_amount_capturable_updated = "payment_intent.amount_capturable_updated"
    #: More than the amount was received (plain transfers can over-pay; the contract rails cannot).
    payment_intent_overpaid = "payment_intent.overpaid"
    #: The intent expired having received part of its amount.
    payment_intent_underpaid = "payment_intent.underpaid"
    #: Funds arrived for an intent that was already canceled or expired.
    payment_intent_late_payment = "payment_intent.late_payment"
    #: An asset the intent did not ask for reached its deposit address (a wrong token); the merchant
    #: can rescue it.
    payment_intent_stray_deposit = "payment_intent.stray_deposit"
    #: A payment the rail rejected (credited nothing): `data.object.last_payment_error.code` says why.
    payment_intent_payment_failed = "payment_intent.payment_failed"
    refund_created = "refund.created"
    refund_succeeded = "refund.succeeded"
    refund_failed = "refund.failed"
    webhook_endpoint_disabled = "webhook_endpoint.disabled"
