"""The webhook delivery worker: fans the outbox out, sends due deliveries, records every attempt.

`run_worker(settings, stop_event)` is the entry point (`sluice worker`, and `sluice dev` runs it in
its own event loop); it also runs the scheduled jobs (sluice/jobs/). Any number of workers may run
side by side: every step claims its rows with `FOR UPDATE SKIP LOCKED`, and a delivery in flight is
leased, so two workers never send the same attempt and a worker killed mid-request only delays the
delivery until its lease runs out (it is then sent again under the same `webhook-id`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.clock import utcnow
from sluice.config import Settings
from sluice.db.admin import resolve_database_url
from sluice.db.session import make_engine, make_sessionmaker, transaction
from sluice.events.views import event_body
from sluice.jobs.scheduler import start_scheduler
from sluice.webhooks.delivery import (
    Claimed,
    Jitter,
    Outcome,
    claim,
    complete,
    default_jitter,
    fan_out,
    redrive_stuck,
)
from sluice.webhooks.secrets import SecretBox, secret_box, signing_headers
from sluice.webhooks.sender import SendResult, WebhookSender

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]

#: Seconds between two passes that re-queue deliveries whose lease ran out (a scheduled job).
REDRIVE_EVERY = 15


class WebhookWorker:
    """One worker's delivery machinery; `run` loops until stopped, the `*_once` methods do one step
    (tests drive those with an injected clock instead of sleeping)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        sender: WebhookSender | None = None,
        clock: Clock = utcnow,
        wall_clock: Callable[[], float] = time.time,
        jitter: Jitter = default_jitter,
        batch_size: int = 200,
        poll_interval: float = 0.2,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.sender = sender or WebhookSender(settings)
        self.clock = clock
        self.wall_clock = wall_clock
        self.jitter = jitter
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.concurrency = settings.webhook_concurrency
        #: A lease outlasts the longest request plus the time to record its outcome.
        self.lease = timedelta(seconds=settings.webhook_timeout + 30)
        self._box: SecretBox = secret_box(settings)
        self._secrets: dict[tuple[str, bytes], str] = {}
        self._outcomes: list[Outcome] = []
        self._flush_now = asyncio.Event()

    async def aclose(self) -> None:
        await self.sender.aclose()

    # ------------------------------------------------------------------------- one step each

    async def fan_out_once(self, limit: int = 500) -> int:
        """Dispatches up to `limit` outbox events; returns how many."""
        async with transaction(self.sessions) as session:
            events, _ = await fan_out(session, self.clock(), limit)
        return events

    async def redrive_once(self) -> int:
        async with transaction(self.sessions) as session:
            count = await redrive_stuck(session, self.clock())
        if count:
            log.warning("webhook_deliveries_redriven", count=count)
        return count

    async def claim_due(self, limit: int) -> list[Claimed]:
        async with transaction(self.sessions) as session:
            return await claim(session, self.clock(), limit, self.lease)

    async def deliver_due_once(self, limit: int | None = None) -> int:
        """Claims due deliveries, sends them concurrently, records the outcomes; returns how many."""
        claimed = await self.claim_due(limit or self.batch_size)
        outcomes = await asyncio.gather(*(self.attempt(c) for c in claimed))
        await self.record(outcomes)
        return len(claimed)

    async def attempt(self, claimed: Claimed) -> Outcome:
        """Signs and POSTs one claimed delivery (no database work)."""
        attempted_at = self.clock()
        body = event_body(
            claimed.event_id,
            claimed.event_type,
            int(claimed.event_created.timestamp()),
            claimed.livemode,
            claimed.event_data,
            claimed.event_request_id,
        )
        try:
            keys = self._signing_secrets(claimed, attempted_at)
        except Exception as exc:  # a key that does not decrypt is an operator error: keep retrying
            log.error("webhook_secret_unreadable", endpoint=claimed.endpoint_id, error=str(exc))
            return Outcome(claimed, SendResult(None, 0, f"cannot sign: {exc}", None), attempted_at)
        headers = signing_headers(keys, claimed.event_id, int(self.wall_clock()), body)
        result = await self.sender.send(claimed.url, headers, body, livemode=claimed.livemode)
        if not result.ok:
            log.info(
                "webhook_attempt_failed",
                delivery=claimed.delivery_id,
                endpoint=claimed.endpoint_id,
                event_id=claimed.event_id,
                attempt=claimed.attempts + 1,
                status=result.status_code,
                error=result.error,
            )
        return Outcome(claimed, result, attempted_at)

    async def record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        async with transaction(self.sessions) as session:
            await complete(session, outcomes, self.clock(), self.jitter)

    def _signing_secrets(self, claimed: Claimed, now: datetime) -> list[str]:
        keys = [self._decrypt(claimed.endpoint_id, claimed.secret_encrypted)]
        if (
            claimed.previous_secret_encrypted is not None
            and claimed.previous_secret_expires_at is not None
            and claimed.previous_secret_expires_at > now
        ):
            keys.append(self._decrypt(claimed.endpoint_id, claimed.previous_secret_encrypted))
        return keys

    def _decrypt(self, endpoint_id: str, blob: bytes) -> str:
        key = (endpoint_id, blob)
        secret = self._secrets.get(key)
        if secret is None:
            if len(self._secrets) > 10_000:
                self._secrets.clear()
            secret = self._secrets[key] = self._box.decrypt(blob, endpoint_id)
        return secret

    # ---------------------------------------------------------------------------- the loops

    async def run(self, stop: asyncio.Event) -> None:
        """Fans out, sends and records until `stop` is set; then finishes what is in flight."""
        sending_done = asyncio.Event()
        loops = [
            asyncio.create_task(self._fan_out_loop(stop), name="webhook-fan-out"),
            asyncio.create_task(self._send_loop(stop, sending_done), name="webhook-send"),
            asyncio.create_task(self._record_loop(sending_done), name="webhook-record"),
        ]
        try:
            await asyncio.gather(*loops)
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def _fan_out_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                dispatched = await self.fan_out_once()
            except Exception:
                log.exception("webhook_fan_out_failed")
                dispatched = 0
            if dispatched < 500:
                await _wait(stop, self.poll_interval)

    async def _send_loop(self, stop: asyncio.Event, done: asyncio.Event) -> None:
        in_flight: set[asyncio.Task[None]] = set()
        # Claim in batches: wait until a quarter of the slots are free rather than claiming (one
        # transaction) for every slot that frees up.
        high_water = self.concurrency - max(1, self.concurrency // 4)
        try:
            while not stop.is_set():
                if len(in_flight) > high_water:
                    finished, _ = await asyncio.wait(
                        in_flight, timeout=self.poll_interval, return_when="FIRST_COMPLETED"
                    )
                    if finished:
                        continue
                wanted = min(self.concurrency - len(in_flight), self.batch_size)
                claimed: list[Claimed] = []
                if wanted > 0:
                    try:
                        claimed = await self.claim_due(wanted)
                    except Exception:
                        log.exception("webhook_claim_failed")
                for c in claimed:
                    task = asyncio.create_task(self._send_one(c))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if not claimed or len(claimed) < wanted:
                    await _wait(stop, self.poll_interval)  # the queue is drained for now
            if in_flight:
                await asyncio.wait(in_flight)
        finally:
            done.set()
            self._flush_now.set()

    async def _send_one(self, claimed: Claimed) -> None:
        try:
            outcome = await self.attempt(claimed)
        except Exception as exc:  # the sender never raises for network errors; this is a bug
            log.exception("webhook_attempt_crashed", delivery=claimed.delivery_id)
            outcome = Outcome(claimed, SendResult(None, 0, f"internal error: {exc}", None), self.clock())
        self._outcomes.append(outcome)
        if len(self._outcomes) >= self.batch_size:
            self._flush_now.set()

    async def _record_loop(self, sending_done: asyncio.Event) -> None:
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), 0.1)
            self._flush_now.clear()
            batch, self._outcomes = self._outcomes, []
            if batch:
                try:
                    await self.record(batch)
                    failures = 0
                except Exception:
                    failures += 1
                    log.exception("webhook_record_failed", count=len(batch), tries=failures)
                    if failures < 5:
                        self._outcomes[:0] = batch  # retried next round; the leases cover the wait
                    # else dropped: the leases run out and the deliveries are sent again
                    await asyncio.sleep(1.0)
            if sending_done.is_set() and not self._outcomes:
                return


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_worker(
    settings: Settings,
    stop_event: asyncio.Event,
    *,
    database_url: str | None = None,
    scheduled_jobs: bool = True,
) -> None:
    """Runs the webhook worker and the scheduled jobs until `stop_event` is set (`sluice worker`;
    `sluice dev` starts it as a task next to the API). `database_url` (asyncpg) overrides the
    configured database."""
    engine = make_engine(database_url or resolve_database_url(settings), settings.db_pool_size)
    sessions = make_sessionmaker(engine)
    worker = WebhookWorker(sessions, settings)
    scheduler = (
        start_scheduler(
            sessions,
            settings,
            worker.clock,
            [("redrive_stuck_deliveries", worker.redrive_once, REDRIVE_EVERY)],
        )
        if scheduled_jobs
        else None
    )
    log.info("worker_started", concurrency=worker.concurrency, jobs=scheduled_jobs)
    try:
        await worker.run(stop_event)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        await worker.aclose()
        await engine.dispose()
        log.info("worker_stopped")
