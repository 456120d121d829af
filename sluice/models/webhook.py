"""Webhook endpoints (`we_…`), deliveries (one per event and endpoint) and the log of every attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sluice.clock import utcnow
from sluice.db.base import Base, TimestampMixin
from sluice.ids import new_id


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt (next_attempt_at)
    sending = "sending"  # claimed by a worker until locked_until (a lease; expired leases are re-driven)
    succeeded = "succeeded"
    failed = "failed"  # retries exhausted, or the endpoint answered 410 Gone


class WebhookEndpoint(TimestampMixin, Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_merchant_created", "merchant_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("we"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    livemode: Mapped[bool]
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    #: Event types sent to this endpoint; ["*"] is every type.
    enabled_events: Mapped[list[str]] = mapped_column(JSONB)
    disabled: Mapped[bool] = mapped_column(default=False)
    #: Why Sluice disabled it ("gone" for 410, "failing" after 5 days of failures); None when the
    #: merchant did, or when enabled.
    disabled_reason: Mapped[str | None] = mapped_column(String(40))
    #: AES-256-GCM (nonce ‖ ciphertext ‖ tag) of the `whsec_…` secret, bound to the endpoint id.
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    #: The secret before the last roll, still signing (next to the new one) until previous_secret_expires_at.
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    #: When the current run of failed attempts began (None after any success).
    failing_since: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(TimestampMixin, Base):
    """One event owed to one endpoint; sent with the event id as `webhook-id` on every attempt."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_leased", "locked_until", postgresql_where=text("status = 'sending'")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("whd"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    status: Mapped[DeliveryStatus] = mapped_column(String(16))
    #: Attempts made so far (the retry schedule is indexed by it).
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    #: The worker's lease while status is `sending`, and the token that proves it holds it.
    locked_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(40))
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One HTTP attempt (or a worker lost mid-attempt), kept for the merchant to inspect."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime]
    #: HTTP status, or None when no response came (connection refused, time-out, refused by the guard).
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    #: The first 2 KB of the response body.
    response_body: Mapped[str | None] = mapped_column(Text)
