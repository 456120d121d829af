"""Typed database models; importing this package registers every table on Base.metadata."""

from sluice.models.audit import AuditLog
from sluice.models.chain import IndexerBlock, IndexerState, LedgerRow, SolanaCursor
from sluice.models.deposit_sweep import DepositSweep, DepositSweepTx, SweepOutcome, SweepTxStatus
from sluice.models.event import Event
from sluice.models.idempotency import IdempotencyKey
from sluice.models.merchant import ApiKey, ApiKeyKind, Merchant, MerchantStatus, Mode
from sluice.models.payment_intent import CaptureMethod, PaymentIntent, PaymentIntentStatus
from sluice.models.quote import Quote
from sluice.models.refund import Refund, RefundStatus
from sluice.models.relay import RelayTransaction
from sluice.models.reports import ReconciliationRun
from sluice.models.users import (
    DashboardSession,
    LoginAttempt,
    Membership,
    PlatformApiKey,
    RecoveryCode,
    Role,
    User,
)
from sluice.models.webhook import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "ApiKeyKind",
    "AuditLog",
    "CaptureMethod",
    "DashboardSession",
    "DeliveryStatus",
    "DepositSweep",
    "DepositSweepTx",
    "Event",
    "IdempotencyKey",
    "IndexerBlock",
    "IndexerState",
    "LedgerRow",
    "LoginAttempt",
    "Membership",
    "Merchant",
    "MerchantStatus",
    "Mode",
    "PaymentIntent",
    "PaymentIntentStatus",
    "PlatformApiKey",
    "Quote",
    "ReconciliationRun",
    "RecoveryCode",
    "Refund",
    "RefundStatus",
    "RelayTransaction",
    "Role",
    "SolanaCursor",
    "SweepOutcome",
    "SweepTxStatus",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
