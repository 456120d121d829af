"""A payment intent's status and capture method, apart from the ORM model: the indexer moves intents
as plain records and does not load SQLAlchemy (about 0.3 s of its start-up)."""

from __future__ import annotations

from enum import StrEnum


class PaymentIntentStatus(StrEnum):
    requires_payment = "requires_payment"
    processing = "processing"
    requires_capture = "requires_capture"
    succeeded = "succeeded"
    canceled = "canceled"
    expired = "expired"


class CaptureMethod(StrEnum):
    automatic = "automatic"  # SluicePayments: merchant and fees paid in the payment transaction
    manual = "manual"  # SluiceEscrow: held until captured, voided, refunded or reclaimed
