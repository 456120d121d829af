"""APScheduler inside `sluice worker`: interval jobs, each in its own transaction.

The scheduler knows nothing of the webhook worker that hosts it: the worker hands in its clock and
its own periodic steps as `extra_jobs` (sluice.webhooks.worker imports this module, never the
other way round; pyproject.toml's import contracts check it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.config import Settings
from sluice.db.session import transaction
from sluice.jobs.tasks import expire_intents, prune_idempotency, refresh_prices

log = structlog.get_logger(__name__)

#: Seconds between runs.
EXPIRE_EVERY = 15
PRUNE_EVERY = 3600
PRICES_EVERY = 60

#: A job: (id, coroutine function, seconds between runs).
Job = tuple[str, Callable[[], Awaitable[Any]], int]


def start_scheduler(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Callable[[], datetime],
    extra_jobs: Sequence[Job] = (),
) -> AsyncIOScheduler:
    """Starts the jobs (and the host's `extra_jobs`) on the running event loop; the caller shuts the
    scheduler down."""
    from sluice.pricing.factory import build_price_source

    try:
        prices = build_price_source(settings)
    except Exception as exc:  # a misconfigured source must not stop webhook delivery
        log.warning("price_source_unavailable", error=str(exc))
        prices = None

    async def expire() -> None:
        async with transaction(sessions) as session:
            ids = await expire_intents(
                session,
                clock(),
                str(settings.checkout_base_url),
                grace=timedelta(seconds=settings.expiry_grace_seconds),
            )
        if ids:
            log.info("intents_expired", count=len(ids))

    async def prune() -> None:
        async with transaction(sessions) as session:
            count = await prune_idempotency(session)
        if count:
            log.info("idempotency_keys_pruned", count=count)

    async def reconcile_job() -> None:
        from sluice.chain.registry import get_registry
        from sluice.reports.reconcile import reconcile_indexed_networks

        for run in await reconcile_indexed_networks(sessions, get_registry()):
            report = log.warning if run.status != "clean" else log.info
            report("reconciliation", network=run.network, status=run.status, mismatches=len(run.mismatches))

    async def prices_job() -> None:
        if prices is None:
            return
        async with transaction(sessions) as session:
            await refresh_prices(session, prices, clock())

    sweepers: dict[str, Any] = {}

    async def sweep_job() -> None:
        from sluice.deposits.runner import sweep_registry

        await sweep_registry(sessions, settings, sweepers)

    scheduler = AsyncIOScheduler(timezone="UTC")
    jobs: list[Job] = [
        ("expire_intents", expire, EXPIRE_EVERY),
        ("prune_idempotency_keys", prune, PRUNE_EVERY),
        ("refresh_prices", prices_job, PRICES_EVERY),
        *extra_jobs,
    ]
    if settings.sweep_every_seconds:
        jobs.append(("sweep_deposits", sweep_job, settings.sweep_every_seconds))
    if settings.reconcile_every_seconds:
        jobs.append(("reconcile", reconcile_job, settings.reconcile_every_seconds))
    for name, job, seconds in jobs:
        scheduler.add_job(
            _logged(name, job),
            "interval",
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            next_run_time=_soon(),  # a first run right after start, then every `seconds`
        )
    scheduler.start()
    return scheduler


def _soon() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def _logged(name: str, job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job()
        except Exception:
            log.exception("scheduled_job_failed", job=name)

    run.__name__ = name
    return run
