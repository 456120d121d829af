"""The scheduled jobs, each one transaction that several workers may run at the same time:
rows are claimed with `FOR UPDATE SKIP LOCKED`, or the job takes a transaction-scoped advisory lock."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.db.session import driver_connection
from sluice.errors import SluiceError
from sluice.events.outbox import NewEvent, intent_event
from sluice.idempotency.service import prune_idempotency_keys
from sluice.intents.record import IntentRecord
from sluice.intents.repository.intents import claim_expired, quotes_of, save
from sluice.intents.transitions import expire
from sluice.models.quote import Quote
from sluice.pricing.base import PriceSource

log = structlog.get_logger(__name__)

#: pg_try_advisory_xact_lock keys of jobs that must not run twice at once.
PRUNE_LOCK = 0x51_0001


async def expire_intents(
    session: AsyncSession,
    now: datetime,
    checkout_base_url: str,
    *,
    grace: timedelta = timedelta(0),
    limit: int = 500,
) -> list[str]:
    """Moves unpaid intents more than `grace` past their deadline to `expired`, with a
    `payment_intent.expired` event each, in this transaction; returns their ids. Intents another
    worker (or the indexer, or a cancel) holds right now are skipped and picked up next time."""
    conn = await driver_connection(session)
    intents = await claim_expired(conn, now - grace, limit)
    quotes = await quotes_of(conn, intents)
    moved: list[IntentRecord] = []
    events: list[NewEvent] = []
    for intent in intents:
        decision = expire(intent)
        decision.apply(intent)
        moved.append(intent)
        quote = quotes.get(intent.quote_id) if intent.quote_id else None
        events.extend(
            intent_event(intent, type, checkout_base_url, quote=quote, previous_attributes=decision.previous)
            for type in decision.events
        )
    await save(conn, moved, events)
    return list(dict.fromkeys(e.object_id for e in events if e.object_id))


async def prune_idempotency(session: AsyncSession) -> int | None:
    """Deletes idempotency keys older than 24 h; None when another worker is already doing it."""
    if not await session.scalar(select(func.pg_try_advisory_xact_lock(PRUNE_LOCK))):
        return None
    return await prune_idempotency_keys(session)


async def refresh_prices(
    session: AsyncSession, prices: PriceSource, now: datetime, *, window: timedelta = timedelta(days=1)
) -> tuple[int, int]:
    """Asks the price source for every pair merchants quoted in the last day, so the worker's cache
    is warm and a failing source shows in the logs before a checkout needs it; (ok, failed)."""
    pairs = (
        await session.execute(
            select(Quote.asset, Quote.currency).where(Quote.created_at >= now - window).distinct().limit(100)
        )
    ).all()
    ok = failed = 0
    for asset, currency in pairs:
        try:
            await prices.rate(asset, currency)
            ok += 1
        except SluiceError as exc:
            failed += 1
            log.warning("price_refresh_failed", pair=f"{asset}/{currency}", error=str(exc))
    return ok, failed
