"""Webhook endpoints of a merchant, their deliveries, redelivery and test pings.

Every query is scoped to the principal's merchant and mode: another merchant's objects are not found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.clock import utcnow
from sluice.config import Settings
from sluice.db.pagination import cursor_page, keyset_page
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.events.outbox import EventType, NewEvent
from sluice.events.repository import event_repository
from sluice.events.service import record_event
from sluice.ids import new_id
from sluice.merchants.service import Principal
from sluice.models.event import Event
from sluice.models.webhook import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sluice.webhooks.delivery import PREVIOUS_SECRET_TTL
from sluice.webhooks.secrets import new_secret, secret_box
from sluice.webhooks.ssrf import Resolver, check_url, system_resolver

MAX_ENDPOINTS = 16
TEST_EVENT = "webhook_endpoint.test"
EVENT_TYPES = frozenset(str(t) for t in EventType)


def check_enabled_events(events: list[str]) -> list[str]:
    """Known event types, or ["*"] for all; duplicates dropped, order kept."""
    if not events:
        raise InvalidRequestError(
            'enabled_events needs at least one event type, or ["*"] for all', param="enabled_events"
        )
    unknown = [e for e in events if e != "*" and e not in EVENT_TYPES]
    if unknown:
        raise InvalidRequestError(
            f"unknown event type {unknown[0]!r}; known types: {', '.join(sorted(EVENT_TYPES))}",
            param="enabled_events",
            code="unknown_event_type",
        )
    return ["*"] if "*" in events else list(dict.fromkeys(events))


DeliveryView = tuple[WebhookDelivery, str, list[WebhookAttempt]]


class WebhookEndpointService:
    def __init__(self, settings: Settings, *, resolver: Resolver = system_resolver) -> None:
        self.settings = settings
        self.resolver = resolver

    async def _check_url(self, principal: Principal, url: str) -> str:
        """The normalised URL (sluice.webhooks.ssrf.check_url), the one stored and called."""
        return await check_url(
            url,
            livemode=principal.livemode,
            allow_private=self.settings.webhook_allow_private,
            resolver=self.resolver,
        )

    # ------------------------------------------------------------------------ endpoints

    async def create(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        url: str,
        enabled_events: list[str],
        description: str | None = None,
        disabled: bool = False,
    ) -> tuple[WebhookEndpoint, str]:
        """Creates an endpoint; returns it with its secret (the only time the secret is shown)."""
        url = await self._check_url(principal, url)
        events = check_enabled_events(enabled_events)
        count = await session.scalar(
            select(func.count())
            .select_from(WebhookEndpoint)
            .where(WebhookEndpoint.merchant_id == principal.merchant_id)
        )
        if (count or 0) >= MAX_ENDPOINTS:
            raise InvalidRequestError(
                f"at most {MAX_ENDPOINTS} webhook endpoints per account", code="too_many_endpoints"
            )
        secret = new_secret()
        endpoint = WebhookEndpoint(
            id=new_id("we"),
            merchant_id=principal.merchant_id,
            livemode=principal.livemode,
            url=url,
            description=description,
            enabled_events=events,
            disabled=disabled,
        )
        endpoint.secret_encrypted = secret_box(self.settings).encrypt(secret, endpoint.id)
        session.add(endpoint)
        await session.flush()
        return endpoint, secret

    async def get(
        self, session: AsyncSession, principal: Principal, endpoint_id: str, *, lock: bool = False
    ) -> WebhookEndpoint:
        stmt = select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.merchant_id == principal.merchant_id,
            WebhookEndpoint.livemode == principal.livemode,
        )
        if lock:
            stmt = stmt.with_for_update()
        endpoint = (await session.execute(stmt)).scalar_one_or_none()
        if endpoint is None:
            raise NotFoundError(f"no such webhook_endpoint: {endpoint_id!r}", param="id")
        return endpoint

    async def list_endpoints(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> tuple[list[WebhookEndpoint], bool]:
        stmt = select(WebhookEndpoint).where(
            WebhookEndpoint.merchant_id == principal.merchant_id,
            WebhookEndpoint.livemode == principal.livemode,
        )
        return await cursor_page(
            session,
            stmt,
            WebhookEndpoint,
            merchant_id=principal.merchant_id,
            object_name="webhook_endpoint",
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )

    async def update(
        self, session: AsyncSession, principal: Principal, endpoint_id: str, changes: dict[str, Any]
    ) -> WebhookEndpoint:
        """Changes the given fields (url, enabled_events, description, disabled). Enabling an
        endpoint Sluice disabled starts its failure count afresh; its pending deliveries resume."""
        endpoint = await self.get(session, principal, endpoint_id, lock=True)
        if "url" in changes:
            endpoint.url = await self._check_url(principal, changes["url"])
        if "enabled_events" in changes:
            endpoint.enabled_events = check_enabled_events(changes["enabled_events"])
        if "description" in changes:
            endpoint.description = changes["description"]
        if "disabled" in changes:
            disabled = bool(changes["disabled"])
            if not disabled and endpoint.disabled:
                endpoint.failing_since = None
            endpoint.disabled = disabled
            endpoint.disabled_reason = None
        await session.flush()
        return endpoint

    async def delete(self, session: AsyncSession, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
        """Deletes the endpoint with its deliveries and their attempt log."""
        endpoint = await self.get(session, principal, endpoint_id, lock=True)
        await session.delete(endpoint)
        await session.flush()
        return endpoint

    async def roll_secret(
        self, session: AsyncSession, principal: Principal, endpoint_id: str, *, now: datetime | None = None
    ) -> tuple[WebhookEndpoint, str]:
        """A new secret; the current one keeps signing (a second signature) for 24 hours."""
        endpoint = await self.get(session, principal, endpoint_id, lock=True)
        secret = new_secret()
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = (now or utcnow()) + PREVIOUS_SECRET_TTL
        endpoint.secret_encrypted = secret_box(self.settings).encrypt(secret, endpoint.id)
        await session.flush()
        return endpoint, secret

    # ----------------------------------------------------------------------- deliveries

    async def deliveries(
        self,
        session: AsyncSession,
        principal: Principal,
        endpoint_id: str,
        *,
        limit: int,
        starting_after: str | None = None,
        status: DeliveryStatus | None = None,
        event_id: str | None = None,
    ) -> tuple[list[DeliveryView], bool]:
        """The endpoint's deliveries, newest first, each with its attempts."""
        await self.get(session, principal, endpoint_id)
        stmt = (
            select(WebhookDelivery, Event.type)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.merchant_id == principal.merchant_id,
            )
        )
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        if event_id is not None:
            stmt = stmt.where(WebhookDelivery.event_id == event_id)
        after = None
        if starting_after:
            row = (
                await session.execute(
                    select(WebhookDelivery.created_at, WebhookDelivery.id).where(
                        WebhookDelivery.id == starting_after,
                        WebhookDelivery.endpoint_id == endpoint_id,
                        WebhookDelivery.merchant_id == principal.merchant_id,
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError(f"no such delivery: {starting_after!r}", param="starting_after")
            after = (row[0], row[1])
        rows, has_more = await keyset_page(
            session, stmt, WebhookDelivery.created_at, WebhookDelivery.id, limit=limit, after=after
        )
        return await self._with_attempts(session, [(r[0], r[1]) for r in rows]), has_more

    async def _with_attempts(
        self, session: AsyncSession, rows: list[tuple[WebhookDelivery, str]]
    ) -> list[DeliveryView]:
        ids = [d.id for d, _ in rows]
        attempts: dict[str, list[WebhookAttempt]] = {i: [] for i in ids}
        if ids:
            found = await session.execute(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id.in_(ids))
                .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
            )
            for attempt in found.scalars():
                attempts[attempt.delivery_id].append(attempt)
        return [(d, t, attempts[d.id]) for d, t in rows]

    async def redeliver(
        self,
        session: AsyncSession,
        principal: Principal,
        event_id: str,
        endpoint_id: str | None = None,
        *,
        now: datetime | None = None,
    ) -> list[DeliveryView]:
        """Queues the event again, with its original `webhook-id`, for one endpoint (even a disabled
        one's queue: it is sent once the endpoint is enabled) or for every enabled endpoint that
        takes its type. A delivery being sent right now is left alone."""
        event = await event_repository.get(session, principal, event_id)
        if endpoint_id is not None:
            endpoints = [await self.get(session, principal, endpoint_id)]
        else:
            candidates = (
                await session.execute(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.merchant_id == principal.merchant_id,
                        WebhookEndpoint.livemode == principal.livemode,
                        WebhookEndpoint.disabled.is_(False),
                    )
                )
            ).scalars()
            endpoints = [e for e in candidates if "*" in e.enabled_events or event.type in e.enabled_events]
            if not endpoints:
                raise InvalidRequestError(
                    f"no enabled webhook endpoint takes {event.type!r} events",
                    param="webhook_endpoint",
                    code="no_matching_endpoint",
                )
        ids = await self._queue(session, event, [e.id for e in endpoints], now or utcnow())
        rows = (await session.execute(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))).scalars()
        return await self._with_attempts(session, [(d, event.type) for d in rows])

    async def _queue(
        self, session: AsyncSession, event: Event, endpoint_ids: list[str], now: datetime
    ) -> list[str]:
        stmt = pg_insert(WebhookDelivery).values(
            [
                {
                    "id": new_id("whd"),
                    "merchant_id": event.merchant_id,
                    "event_id": event.id,
                    "endpoint_id": endpoint_id,
                    "status": DeliveryStatus.pending,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for endpoint_id in endpoint_ids
            ]
        )
        upsert = stmt.on_conflict_do_update(
            index_elements=["event_id", "endpoint_id"],
            set_={
                "status": DeliveryStatus.pending,
                "attempts": 0,
                "next_attempt_at": now,
                "delivered_at": None,
            },
            where=WebhookDelivery.status != DeliveryStatus.sending,
        ).returning(WebhookDelivery.id)
        queued = list((await session.execute(upsert)).scalars())
        existing = (
            await session.execute(
                select(WebhookDelivery.id).where(
                    WebhookDelivery.event_id == event.id, WebhookDelivery.endpoint_id.in_(endpoint_ids)
                )
            )
        ).scalars()
        return list(dict.fromkeys([*queued, *existing]))

    async def send_test(
        self, session: AsyncSession, principal: Principal, endpoint_id: str, *, now: datetime | None = None
    ) -> DeliveryView:
        """Queues a `webhook_endpoint.test` event for this endpoint only (whatever its enabled
        events); the worker sends it like any other, signed, and logs the attempt."""
        endpoint = await self.get(session, principal, endpoint_id)
        now = now or utcnow()
        new = NewEvent(
            merchant_id=principal.merchant_id,
            livemode=principal.livemode,
            type=TEST_EVENT,
            object_id=endpoint.id,
            object={"id": endpoint.id, "object": "webhook_endpoint", "url": endpoint.url, "test": True},
            created_at=now,
        )
        await record_event(session, new)
        event = await event_repository.get(session, principal, new.id)
        event.dispatched_at = now  # fanned out here, to this endpoint only
        [delivery_id] = await self._queue(session, event, [endpoint.id], now)
        delivery = await session.get_one(WebhookDelivery, delivery_id)
        return delivery, TEST_EVENT, []
