"""The worker against a real receiver on 127.0.0.1: signed deliveries, the retry schedule on an
injected clock, 410/429 handling, the attempt log, and disabling an endpoint failing for 5 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from webhooks_support import add_endpoint, add_events, auth

from sluice.models.event import Event
from sluice.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sluice.webhooks.delivery import RETRY_SCHEDULE, next_delay

pytestmark = pytest.mark.db


async def deliveries(sessions) -> list[WebhookDelivery]:
    async with sessions() as s:
        return list((await s.execute(select(WebhookDelivery).order_by(WebhookDelivery.created_at))).scalars())


async def attempts(sessions, delivery_id: str) -> list[WebhookAttempt]:
    async with sessions() as s:
        return list(
            (
                await s.execute(
                    select(WebhookAttempt)
                    .where(WebhookAttempt.delivery_id == delivery_id)
                    .order_by(WebhookAttempt.id)
                )
            ).scalars()
        )


async def test_an_event_is_delivered_signed_with_its_id(client, merchant, sessions, receiver, worker):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    [event_id] = await add_events(sessions, merchant.id)
    assert await worker.fan_out_once() == 1
    assert await worker.deliver_due_once() == 1
    [got] = receiver.received
    assert got.webhook_id == event_id
    payload = Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert payload["id"] == event_id and payload["type"] == "payment_intent.succeeded"
    assert payload["object"] == "event" and payload["data"]["object"]["id"] == "pi_test0"
    # The body is what GET /v1/events/{id} returns.
    api = (await client.get(f"/v1/events/{event_id}", headers=auth(merchant.secret))).json()
    assert payload == api
    [delivery] = await deliveries(sessions)
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.event_id == event_id
    [attempt] = await attempts(sessions, delivery.id)
    assert attempt.status_code == 200 and attempt.response_body == "thanks" and attempt.error is None
    assert attempt.latency_ms is not None and attempt.latency_ms >= 0
    # Dispatched once: a second fan-out finds nothing.
    assert await worker.fan_out_once() == 0
    assert await worker.deliver_due_once() == 0


async def test_only_matching_enabled_endpoints_of_the_same_mode_get_the_event(
    client, merchant, sessions, receiver, worker
):
    await add_endpoint(client, merchant.secret, receiver.url, ["payment_intent.canceled"])
    await add_endpoint(client, merchant.secret, receiver.url, ["payment_intent.succeeded"])
    disabled = await add_endpoint(client, merchant.secret, receiver.url)
    await client.patch(
        f"/v1/webhook_endpoints/{disabled['id']}", json={"disabled": True}, headers=auth(merchant.secret)
    )
    await add_events(sessions, merchant.id, type="payment_intent.succeeded")
    await add_events(sessions, merchant.id, type="payment_intent.succeeded", livemode=True)
    await worker.fan_out_once()
    assert len(await deliveries(sessions)) == 1
    await worker.deliver_due_once()
    assert len(receiver.received) == 1


@pytest.mark.parametrize("mode", ["down", "500", "slow", "redirect"])
async def test_failures_retry_on_the_schedule_then_succeed_once_the_receiver_is_back(
    client, merchant, sessions, receiver, worker, clock, mode
):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    [event_id] = await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    if mode == "down":
        await receiver.stop()
    else:
        receiver.mode = mode
    # Attempt 1 now, then one more at each step of the schedule (no sleeping: the clock moves).
    assert await worker.deliver_due_once() == 1
    for n, delay in enumerate(RETRY_SCHEDULE[:3], start=1):
        [delivery] = await deliveries(sessions)
        assert delivery.status == "pending" and delivery.attempts == n
        assert delivery.next_attempt_at == clock.now + delay
        clock.advance(seconds=delay.total_seconds() - 1)
        assert await worker.deliver_due_once() == 0  # not due yet
        clock.advance(seconds=1)
        assert await worker.deliver_due_once() == 1
    if mode == "down":
        await receiver.start()
    receiver.mode = "ok"
    clock.advance(seconds=RETRY_SCHEDULE[3].total_seconds())
    assert await worker.deliver_due_once() == 1
    [delivery] = await deliveries(sessions)
    assert delivery.status == "succeeded" and delivery.attempts == 5
    log = await attempts(sessions, delivery.id)
    assert len(log) == 5 and log[-1].status_code == 200
    errors = [a.error for a in log[:-1]]
    assert all(errors)
    if mode == "500":
        assert {a.status_code for a in log[:-1]} == {500}
        assert all(len(a.response_body or "") == 2048 for a in log[:-1])  # cut at 2 KB
    if mode == "slow":
        assert all("timed out" in e for e in errors)
    if mode == "redirect":
        assert all("redirect not followed" in e for e in errors)
        assert {a.status_code for a in log[:-1]} == {302}
    if mode == "down":
        assert all(a.status_code is None for a in log[:-1])
    # Every request the receiver saw carried this event's id and a valid signature; none other.
    assert set(receiver.ids()) == {event_id}
    verifier = Webhook(endpoint["secret"])
    for got in receiver.received:
        assert verifier.verify(got.body, got.headers)["id"] == event_id
    # The merchant sees the same log over the API.
    listed = (
        await client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=auth(merchant.secret))
    ).json()
    [shown] = listed["data"]
    assert shown["status"] == "succeeded" and shown["attempt_count"] == 5 and len(shown["attempts"]) == 5


async def test_retries_go_on_for_more_than_three_days_then_the_delivery_fails(
    client, merchant, sessions, receiver, worker, clock
):
    await add_endpoint(client, merchant.secret, receiver.url)
    await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    receiver.mode = "500"
    started = clock.now
    assert await worker.deliver_due_once() == 1
    while True:
        [delivery] = await deliveries(sessions)
        if delivery.status != "pending":
            break
        clock.now = delivery.next_attempt_at
        assert await worker.deliver_due_once() == 1
    assert delivery.status == "failed" and delivery.attempts == len(RETRY_SCHEDULE) + 1
    assert clock.now - started >= timedelta(days=3)
    assert len(receiver.received) == len(RETRY_SCHEDULE) + 1


def test_jitter_keeps_the_schedule_within_ten_percent_and_above_three_days():
    for n, base in enumerate(RETRY_SCHEDULE, start=1):
        for _ in range(20):
            delay = next_delay(n)
            assert delay is not None and base * 0.9 <= delay <= base * 1.1
    assert sum((d * 0.9 for d in RETRY_SCHEDULE), timedelta()) > timedelta(days=3)
    assert next_delay(len(RETRY_SCHEDULE) + 1) is None


async def test_410_disables_the_endpoint_with_an_event(client, merchant, sessions, receiver, worker):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    await add_events(sessions, merchant.id, n=2)
    await worker.fan_out_once()
    receiver.mode = "410"
    assert await worker.deliver_due_once(limit=1) == 1
    async with sessions() as s:
        row = await s.get(WebhookEndpoint, endpoint["id"])
        assert row is not None and row.disabled and row.disabled_reason == "gone"
        [event] = (await s.execute(select(Event).where(Event.type == "webhook_endpoint.disabled"))).scalars()
        assert event.object_id == endpoint["id"] and event.data["object"]["disabled_reason"] == "gone"
    # The other delivery waits (not sent to a disabled endpoint) and resumes once it is enabled.
    assert await worker.deliver_due_once() == 0
    receiver.mode = "ok"
    enabled = await client.patch(
        f"/v1/webhook_endpoints/{endpoint['id']}", json={"disabled": False}, headers=auth(merchant.secret)
    )
    assert enabled.json()["status"] == "enabled" and enabled.json()["disabled_reason"] is None
    assert await worker.deliver_due_once() == 1
    assert [r.status for r in await deliveries(sessions)].count("succeeded") == 1


async def test_429_and_503_honour_retry_after(client, merchant, sessions, receiver, worker, clock):
    await add_endpoint(client, merchant.secret, receiver.url)
    await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    receiver.mode = "429"
    await worker.deliver_due_once()
    [delivery] = await deliveries(sessions)
    # The schedule says 5 s; the receiver asked for 120 s.
    assert delivery.next_attempt_at == clock.now + timedelta(seconds=120)


async def test_an_endpoint_failing_for_five_days_is_disabled_and_the_merchant_told(
    client, merchant, sessions, receiver, worker, clock
):
    failing = await add_endpoint(client, merchant.secret, receiver.url)
    watcher = await add_endpoint(client, merchant.secret, receiver.url, ["webhook_endpoint.disabled"])
    receiver.mode = "500"
    await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    await worker.deliver_due_once()
    clock.advance(days=4, hours=23)
    await add_events(sessions, merchant.id, created_at=clock.now)
    await worker.fan_out_once()
    await worker.deliver_due_once()
    async with sessions() as s:
        assert not (await s.get(WebhookEndpoint, failing["id"])).disabled
    clock.advance(hours=1, seconds=1)
    await add_events(sessions, merchant.id, created_at=clock.now)
    await worker.fan_out_once()
    await worker.deliver_due_once()
    async with sessions() as s:
        row = await s.get(WebhookEndpoint, failing["id"])
        assert row.disabled and row.disabled_reason == "failing"
    # The other endpoint is sent the webhook_endpoint.disabled event.
    receiver.mode = "ok"
    receiver.received.clear()
    await worker.fan_out_once()
    await worker.deliver_due_once()
    [got] = receiver.received
    body = got.json()
    assert body["type"] == "webhook_endpoint.disabled" and body["data"]["object"]["id"] == failing["id"]
    assert Webhook(watcher["secret"]).verify(got.body, got.headers)


async def test_a_success_resets_the_failure_clock(client, merchant, sessions, receiver, worker, clock):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    receiver.mode = "500"
    await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    await worker.deliver_due_once()
    async with sessions() as s:
        assert (await s.get(WebhookEndpoint, endpoint["id"])).failing_since == clock.now
    receiver.mode = "ok"
    clock.advance(seconds=5)
    await worker.deliver_due_once()
    async with sessions() as s:
        assert (await s.get(WebhookEndpoint, endpoint["id"])).failing_since is None


async def test_an_endpoint_deleted_during_an_attempt_does_not_jam_the_worker(
    client, merchant, sessions, receiver, worker
):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    [claimed] = await worker.claim_due(10)
    outcome = await worker.attempt(claimed)
    deleted = await client.delete(f"/v1/webhook_endpoints/{endpoint['id']}", headers=auth(merchant.secret))
    assert deleted.status_code == 200
    await worker.record([outcome])  # the delivery is gone: its attempt is dropped, nothing raises
    async with sessions() as s:
        assert (await s.execute(select(WebhookAttempt))).first() is None


async def test_a_response_body_with_nul_bytes_is_stored(client, merchant, sessions, receiver, worker):
    from aiohttp import web

    async def nul(request):
        return web.Response(status=500, body=b"bad\x00body")

    await add_endpoint(client, merchant.secret, receiver.url)
    await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    receiver.mode = nul
    assert await worker.deliver_due_once() == 1
    [delivery] = await deliveries(sessions)
    [attempt] = await attempts(sessions, delivery.id)
    assert attempt.status_code == 500 and attempt.response_body == "bad\ufffdbody"
