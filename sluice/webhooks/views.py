"""The public views of webhook endpoints, deliveries and attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from sluice.models.webhook import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if isinstance(value, datetime) else None


class WebhookEndpointPublic(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    url: str
    description: str | None
    enabled_events: list[str]
    status: Literal["enabled", "disabled"]
    disabled: bool
    #: "gone" (the receiver answered 410), "failing" (5 days of failures), None when the merchant
    #: disabled it or it is enabled.
    disabled_reason: str | None
    livemode: bool
    created: int
    #: The `whsec_…` signing secret: present only in the response that creates or rolls it.
    secret: str | None = None
    #: Until when the secret before the last roll still signs (next to the current one).
    previous_secret_expires: int | None = None

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, *, secret: str | None = None) -> WebhookEndpointPublic:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            enabled_events=list(endpoint.enabled_events),
            status="disabled" if endpoint.disabled else "enabled",
            disabled=endpoint.disabled,
            disabled_reason=endpoint.disabled_reason,
            livemode=endpoint.livemode,
            created=int(endpoint.created_at.timestamp()),
            secret=secret,
            previous_secret_expires=_ts(endpoint.previous_secret_expires_at),
        )


class WebhookAttemptPublic(BaseModel):
    object: Literal["webhook_attempt"] = "webhook_attempt"
    attempted_at: int
    status_code: int | None
    latency_ms: int | None
    error: str | None
    #: The first 2 KB of the receiver's response body.
    response_body: str | None

    @classmethod
    def of(cls, attempt: WebhookAttempt) -> WebhookAttemptPublic:
        return cls(
            attempted_at=int(attempt.attempted_at.timestamp()),
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            error=attempt.error,
            response_body=attempt.response_body,
        )


class WebhookDeliveryPublic(BaseModel):
    id: str
    object: Literal["webhook_delivery"] = "webhook_delivery"
    event: str
    event_type: str
    webhook_endpoint: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt: int | None
    delivered: int | None
    created: int
    last_status_code: int | None
    last_error: str | None
    #: Every attempt, oldest first.
    attempts: list[WebhookAttemptPublic]

    @classmethod
    def of(
        cls, delivery: WebhookDelivery, event_type: str, attempts: list[WebhookAttempt]
    ) -> WebhookDeliveryPublic:
        return cls(
            id=delivery.id,
            event=delivery.event_id,
            event_type=event_type,
            webhook_endpoint=delivery.endpoint_id,
            status=DeliveryStatus(delivery.status),
            attempt_count=delivery.attempts,
            next_attempt=_ts(delivery.next_attempt_at) if delivery.status == DeliveryStatus.pending else None,
            delivered=_ts(delivery.delivered_at),
            created=int(delivery.created_at.timestamp()),
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            attempts=[WebhookAttemptPublic.of(a) for a in attempts],
        )
