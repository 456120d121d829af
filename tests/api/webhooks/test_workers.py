"""Several workers at once, and a worker killed with SIGKILL mid-delivery: nothing lost, nothing
sent twice at the same time, and a redelivery keeps its webhook-id."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select
from standardwebhooks import Webhook
from webhooks_support import TEST_SECRET_KEY, Clock, add_endpoint, add_events

from sluice.clock import utcnow
from sluice.config import to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.models.webhook import WebhookAttempt, WebhookDelivery
from sluice.webhooks.worker import WebhookWorker

pytestmark = pytest.mark.db


async def _two_workers_deliver_everything_once(client, merchant, sessions, receiver, settings, db_url, n):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    ids = await add_events(sessions, merchant.id, n)
    in_flight: set[str] = set()
    overlaps: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        webhook_id = request.headers["webhook-id"]
        if webhook_id in in_flight:
            overlaps.append(webhook_id)
        in_flight.add(webhook_id)
        await asyncio.sleep(0.001)
        in_flight.discard(webhook_id)
        return web.Response(text="ok")

    receiver.mode = handler
    engines = [make_engine(to_asyncpg_url(db_url), pool_size=4) for _ in range(2)]
    workers = [
        # A generous time-out: the receiver shares this process and its event loop with both workers.
        WebhookWorker(
            make_sessionmaker(e),
            settings.model_copy(update={"webhook_concurrency": 32, "webhook_timeout": 20.0}),
        )
        for e in engines
    ]
    stop = asyncio.Event()
    runs = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        async with asyncio.timeout(120):
            while len(receiver.received) < n:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything sent twice would arrive now
    finally:
        stop.set()
        await asyncio.gather(*runs)
        for w in workers:
            await w.aclose()
        for e in engines:
            await e.dispose()
    assert overlaps == []
    assert receiver.ids() == dict.fromkeys(ids, 1)  # every event exactly once, under its own id
    verifier = Webhook(endpoint["secret"])
    for got in receiver.received[:20]:
        assert verifier.verify(got.body, got.headers)["id"] == got.webhook_id
    async with sessions() as s:
        statuses = (await s.execute(select(WebhookDelivery.status))).scalars().all()
        assert set(statuses) == {"succeeded"} and len(statuses) == n
        # One successful attempt per delivery (a refused keep-alive connection may add a failed one).
        ok = (
            await s.execute(select(WebhookAttempt.delivery_id).where(WebhookAttempt.status_code == 200))
        ).all()
        assert len(ok) == n and len(set(ok)) == n


async def test_two_workers_side_by_side_deliver_every_event_exactly_once(
    client, merchant, sessions, receiver, settings, db_url
):
    await _two_workers_deliver_everything_once(client, merchant, sessions, receiver, settings, db_url, 300)


@pytest.mark.slow
async def test_two_workers_side_by_side_with_many_events(
    client, merchant, sessions, receiver, settings, db_url
):
    await _two_workers_deliver_everything_once(client, merchant, sessions, receiver, settings, db_url, 5000)


async def test_concurrent_claims_never_share_a_delivery(
    client, merchant, sessions, receiver, settings, db_url
):
    await add_endpoint(client, merchant.secret, receiver.url)
    await add_events(sessions, merchant.id, 200)
    clock = Clock()
    engines = [make_engine(to_asyncpg_url(db_url), pool_size=2) for _ in range(4)]
    workers = [WebhookWorker(make_sessionmaker(e), settings, clock=clock) for e in engines]
    try:
        await workers[0].fan_out_once()
        claims = await asyncio.gather(*(w.claim_due(80) for w in workers))
    finally:
        for w in workers:
            await w.aclose()
        for e in engines:
            await e.dispose()
    claimed = [c.delivery_id for batch in claims for c in batch]
    assert len(claimed) == 200 and len(set(claimed)) == 200


async def test_a_worker_killed_mid_delivery_is_redelivered_with_the_same_webhook_id(
    client, merchant, sessions, receiver, settings, db_url, tmp_path
):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    [event_id] = await add_events(sessions, merchant.id)
    arrived = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await asyncio.sleep(60)  # the worker is killed while waiting for this answer
        return web.Response(text="never")

    receiver.mode = hang
    env = {
        **os.environ,
        "SLUICE_ENV": "test",
        "SLUICE_DATABASE_URL": db_url,
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_WEBHOOK_ALLOW_PRIVATE": "true",
        "SLUICE_WEBHOOK_SECRET_KEY": TEST_SECRET_KEY,
        "SLUICE_WEBHOOK_TIMEOUT": "30",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "launcher.cli", "worker", "--no-jobs"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            await arrived.wait()
    except TimeoutError:
        process.kill()
        raise AssertionError(process.communicate()[1].decode()[-3000:]) from None
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    assert process.returncode == -signal.SIGKILL
    async with sessions() as s:
        [delivery] = (await s.execute(select(WebhookDelivery))).scalars()
        assert delivery.status == "sending" and delivery.locked_until > utcnow()

    receiver.mode = "ok"
    clock = Clock()
    worker = WebhookWorker(sessions, settings, clock=clock, jitter=lambda: 0.0)
    try:
        assert await worker.redrive_once() == 0  # the lease still runs: nobody else sends it yet
        assert await worker.deliver_due_once() == 0
        clock.now = delivery.locked_until + timedelta(seconds=1)
        assert await worker.redrive_once() == 1
        assert await worker.deliver_due_once() == 1
    finally:
        await worker.aclose()
    assert [r.webhook_id for r in receiver.received] == [event_id, event_id]
    assert Webhook(endpoint["secret"]).verify(receiver.received[-1].body, receiver.received[-1].headers)
    async with sessions() as s:
        [delivery] = (await s.execute(select(WebhookDelivery))).scalars()
        assert delivery.status == "succeeded"
        log = (await s.execute(select(WebhookAttempt).order_by(WebhookAttempt.id))).scalars().all()
        assert "worker stopped" in (log[0].error or "") and log[1].status_code == 200


async def test_run_worker_delivers_and_runs_the_scheduled_jobs(
    client, merchant, sessions, receiver, settings, db_url
):
    """The entry point `sluice worker` and `sluice dev` use: deliveries flow and APScheduler runs
    the expiry job, until the stop event is set."""
    from sqlalchemy import update

    from sluice.models.payment_intent import PaymentIntent
    from sluice.webhooks.worker import run_worker

    endpoint = await add_endpoint(client, merchant.secret, receiver.url, ["payment_intent.expired"])
    body = {"network": "local", "asset": "USDC", "amount": "25000000", "expires_in": 60}
    intent = (
        await client.post(
            "/v1/payment_intents", json=body, headers={"Authorization": f"Bearer {merchant.secret}"}
        )
    ).json()
    async with sessions() as s, s.begin():
        await s.execute(
            update(PaymentIntent)
            .where(PaymentIntent.id == intent["id"])
            .values(expires_at=utcnow() - timedelta(seconds=settings.expiry_grace_seconds + 1))
        )
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop, database_url=to_asyncpg_url(db_url)))
    try:
        async with asyncio.timeout(30):
            while not receiver.received:
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    [got] = receiver.received
    event = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert event["type"] == "payment_intent.expired" and event["data"]["object"]["id"] == intent["id"]
    assert event["data"]["object"]["status"] == "expired"
