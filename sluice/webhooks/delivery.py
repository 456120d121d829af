"""The outbox and delivery queue in SQL: fan-out, claiming with leases, recording outcomes.

Every step is one transaction, and several workers can run each step at the same time:
- `fan_out` claims undispatched events (`FOR UPDATE SKIP LOCKED`), creates one delivery per
  matching enabled endpoint and marks the events dispatched, all in one statement;
- `claim` leases due deliveries (`FOR UPDATE SKIP LOCKED`, status `sending`, `locked_until`,
  a fresh `claim_token`); the HTTP request happens outside any transaction;
- `complete` records each attempt and reschedules or closes the delivery, only while the worker
  still holds the lease (the token matches), so a worker that lost its lease cannot overwrite a
  newer outcome;
- `redrive_stuck` returns deliveries whose lease ran out (the worker died) to the queue: they are
  sent again with the same `webhook-id`.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.events.outbox import EventType, NewEvent
from sluice.events.service import record_event
from sluice.models.webhook import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sluice.webhooks.sender import SendResult
from sluice.webhooks.views import WebhookEndpointPublic

#: Delay after the n-th failed attempt (n = 1, 2, …), before jitter: about 3.6 days in all, more
#: than 3 days even with the most negative jitter. Then the delivery is failed.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    *(timedelta(hours=10),) * 8,
)
JITTER = 0.1  # ± 10 %
#: An endpoint failing without a single success for this long is disabled.
DISABLE_AFTER = timedelta(days=5)
#: Retry-After is honoured up to this much.
MAX_RETRY_AFTER = timedelta(hours=24)
#: How long a rolled secret keeps signing next to the new one.
PREVIOUS_SECRET_TTL = timedelta(hours=24)

Jitter = Callable[[], float]


def default_jitter() -> float:
    return random.uniform(-JITTER, JITTER)  # noqa: S311  (spreading retries, not security)


def next_delay(failed_attempts: int, jitter: Jitter = default_jitter) -> timedelta | None:
    """The wait before the next attempt after `failed_attempts` failures; None when retries are over."""
    if failed_attempts > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[failed_attempts - 1]
    return base * (1 + jitter())


# ------------------------------------------------------------------------------------ fan-out

_FAN_OUT = text(
    """
    WITH batch AS (
        SELECT id, merchant_id, livemode, type FROM events
        WHERE dispatched_at IS NULL
        ORDER BY seq
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), deliveries AS (
        INSERT INTO webhook_deliveries
            (id, merchant_id, event_id, endpoint_id, status, attempts, next_attempt_at, created_at)
        SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), b.merchant_id, b.id, e.id,
               'pending', 0, :now, :now
        FROM batch b
        JOIN webhook_endpoints e
          ON e.merchant_id = b.merchant_id AND e.livemode = b.livemode AND NOT e.disabled
         AND (e.enabled_events ? '*' OR e.enabled_events ? b.type)
        ON CONFLICT (event_id, endpoint_id) DO NOTHING
        RETURNING 1
    ), dispatched AS (
        UPDATE events SET dispatched_at = :now FROM batch WHERE events.id = batch.id RETURNING 1
    )
    SELECT (SELECT count(*) FROM dispatched), (SELECT count(*) FROM deliveries)
    """
)


async def fan_out(session: AsyncSession, now: datetime, limit: int = 500) -> tuple[int, int]:
    """Dispatches up to `limit` outbox events; returns (events dispatched, deliveries created)."""
    row = (await session.execute(_FAN_OUT, {"limit": limit, "now": now})).one()
    return int(row[0]), int(row[1])


# ------------------------------------------------------------------------------------- claim


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: str
    claim_token: str
    attempts: int
    merchant_id: str
    endpoint_id: str
    url: str
    livemode: bool
    secret_encrypted: bytes
    previous_secret_encrypted: bytes | None
    previous_secret_expires_at: datetime | None
    event_id: str
    event_type: str
    event_created: datetime
    event_data: dict[str, Any]
    event_request_id: str | None


_CLAIM = text(
    """
    WITH due AS (
        SELECT d.id FROM webhook_deliveries d
        JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= :now AND NOT e.disabled
        ORDER BY d.next_attempt_at
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET status = 'sending', locked_until = :lease_end, claim_token = :token
    FROM due, events ev, webhook_endpoints e
    WHERE d.id = due.id AND ev.id = d.event_id AND e.id = d.endpoint_id
    RETURNING d.id, d.attempts, d.merchant_id, e.id, e.url, e.livemode, e.secret_encrypted,
              e.previous_secret_encrypted, e.previous_secret_expires_at,
              ev.id, ev.type, ev.created_at, ev.data, ev.request_id
    """
)


async def claim(session: AsyncSession, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Leases up to `limit` due deliveries of enabled endpoints (oldest due first)."""
    token = secrets.token_hex(16)
    params = {"now": now, "limit": limit, "lease_end": now + lease, "token": token}
    rows = await session.execute(_CLAIM, params)
    return [
        Claimed(
            delivery_id=r[0],
            claim_token=token,
            attempts=r[1],
            merchant_id=r[2],
            endpoint_id=r[3],
            url=r[4],
            livemode=r[5],
            secret_encrypted=r[6],
            previous_secret_encrypted=r[7],
            previous_secret_expires_at=r[8],
            event_id=r[9],
            event_type=r[10],
            event_created=r[11],
            event_data=r[12],
            event_request_id=r[13],
        )
        for r in rows
    ]


# ---------------------------------------------------------------------------------- complete


@dataclass(frozen=True, slots=True)
class Outcome:
    claimed: Claimed
    result: SendResult
    attempted_at: datetime


async def complete(
    session: AsyncSession, outcomes: Sequence[Outcome], now: datetime, jitter: Jitter = default_jitter
) -> None:
    """Records the attempts and moves each delivery on: succeeded, rescheduled, or failed.

    An attempt whose delivery was deleted meanwhile (its endpoint was deleted) is dropped; one whose
    lease was lost (re-driven to another worker) is logged but does not change the delivery."""
    if not outcomes:
        return
    existing = set(
        (
            await session.execute(
                select(WebhookDelivery.id).where(
                    WebhookDelivery.id.in_({o.claimed.delivery_id for o in outcomes})
                )
            )
        ).scalars()
    )
    outcomes = [o for o in outcomes if o.claimed.delivery_id in existing]
    if not outcomes:
        return
    connection = await session.connection()
    await connection.execute(
        insert(cast(Table, WebhookAttempt.__table__)),
        [
            {
                "delivery_id": o.claimed.delivery_id,
                "attempted_at": o.attempted_at,
                "status_code": o.result.status_code,
                "latency_ms": o.result.latency_ms,
                "error": o.result.error,
                "response_body": o.result.body,
            }
            for o in outcomes
        ],
    )
    updates: list[dict[str, Any]] = []
    succeeded_endpoints: set[str] = set()
    failed_endpoints: set[str] = set()
    gone_endpoints: set[str] = set()
    for o in outcomes:
        attempts = o.claimed.attempts + 1
        status = DeliveryStatus.pending
        next_at: datetime | None = None
        delivered_at: datetime | None = None
        if o.result.ok:
            status, delivered_at = DeliveryStatus.succeeded, now
            succeeded_endpoints.add(o.claimed.endpoint_id)
        elif o.result.status_code == 410:
            status = DeliveryStatus.failed
            gone_endpoints.add(o.claimed.endpoint_id)
        else:
            failed_endpoints.add(o.claimed.endpoint_id)
            delay = next_delay(attempts, jitter)
            if delay is None:
                status = DeliveryStatus.failed
            else:
                if o.result.retry_after is not None:
                    delay = min(max(delay, timedelta(seconds=o.result.retry_after)), MAX_RETRY_AFTER)
                next_at = now + delay
        updates.append(
            {
                "b_id": o.claimed.delivery_id,
                "b_token": o.claimed.claim_token,
                "status": status,
                "attempts": attempts,
                "next_attempt_at": next_at,
                "locked_until": None,
                "claim_token": None,
                "last_attempt_at": o.attempted_at,
                "last_status_code": o.result.status_code,
                "last_error": o.result.error,
                "delivered_at": delivered_at,
            }
        )
    table = cast(Table, WebhookDelivery.__table__)
    await connection.execute(
        update(table).where(table.c.id == bindparam("b_id"), table.c.claim_token == bindparam("b_token")),
        updates,
    )
    if succeeded_endpoints:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(succeeded_endpoints), WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )
    failed_endpoints -= succeeded_endpoints
    if failed_endpoints:
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id.in_(failed_endpoints), WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=now)
            .execution_options(synchronize_session=False)
        )
        long_failing = (
            await session.execute(
                text(
                    "SELECT id FROM webhook_endpoints WHERE id = ANY(:ids) AND NOT disabled "
                    "AND failing_since <= :cutoff"
                ),
                {"ids": list(failed_endpoints), "cutoff": now - DISABLE_AFTER},
            )
        ).scalars()
        for endpoint_id in list(long_failing):
            await disable_endpoint(session, endpoint_id, "failing")
    for endpoint_id in gone_endpoints:
        await disable_endpoint(session, endpoint_id, "gone")


async def disable_endpoint(session: AsyncSession, endpoint_id: str, reason: str) -> bool:
    """Disables an endpoint Sluice gave up on and tells the merchant with a
    `webhook_endpoint.disabled` event (sent to the merchant's other endpoints)."""
    endpoint = (
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.disabled.is_(False))
            .values(disabled=True, disabled_reason=reason)
            .returning(WebhookEndpoint)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if endpoint is None:
        return False
    await record_event(
        session,
        NewEvent(
            merchant_id=endpoint.merchant_id,
            livemode=endpoint.livemode,
            type=EventType.webhook_endpoint_disabled,
            object_id=endpoint.id,
            object=WebhookEndpointPublic.of(endpoint).model_dump(mode="json"),
        ),
    )
    return True


# ----------------------------------------------------------------------------------- re-drive

_REDRIVE = text(
    """
    WITH stuck AS (
        SELECT id FROM webhook_deliveries
        WHERE status = 'sending' AND locked_until < :now
        ORDER BY locked_until
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET status = 'pending', next_attempt_at = :now, locked_until = NULL, claim_token = NULL
    FROM stuck WHERE d.id = stuck.id
    RETURNING d.id
    """
)


async def redrive_stuck(session: AsyncSession, now: datetime, limit: int = 1000) -> int:
    """Requeues deliveries whose worker's lease ran out, recording the lost attempt."""
    ids = [r[0] for r in await session.execute(_REDRIVE, {"now": now, "limit": limit})]
    if ids:
        await session.execute(
            insert(WebhookAttempt),
            [
                {
                    "delivery_id": delivery_id,
                    "attempted_at": now,
                    "error": "the worker stopped before the attempt finished; sending again",
                }
                for delivery_id in ids
            ],
        )
    return len(ids)
