"""/v1/webhook_endpoints: CRUD, the secret shown once, rolling it, deliveries, redelivery, test
pings, and cross-merchant isolation."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from webhooks_support import add_endpoint, add_events, auth

from sluice.clock import utcnow
from sluice.models.audit import AuditLog
from sluice.models.webhook import WebhookEndpoint

pytestmark = pytest.mark.db


async def test_create_shows_the_secret_once_and_stores_it_encrypted(client, merchant, sessions, receiver):
    created = await client.post(
        "/v1/webhook_endpoints",
        json={"url": receiver.url, "enabled_events": ["payment_intent.succeeded"], "description": "orders"},
        headers=auth(merchant.secret),
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["id"].startswith("we_") and body["object"] == "webhook_endpoint"
    assert body["secret"].startswith("whsec_") and body["status"] == "enabled"
    assert body["enabled_events"] == ["payment_intent.succeeded"] and body["description"] == "orders"
    fetched = (await client.get(f"/v1/webhook_endpoints/{body['id']}", headers=auth(merchant.secret))).json()
    assert fetched["secret"] is None and fetched["url"] == receiver.url
    listed = (await client.get("/v1/webhook_endpoints", headers=auth(merchant.restricted))).json()
    assert [e["id"] for e in listed["data"]] == [body["id"]] and listed["data"][0]["secret"] is None
    async with sessions() as s:
        row = await s.get(WebhookEndpoint, body["id"])
        assert row is not None and body["secret"].encode() not in row.secret_encrypted
        audit = (await s.execute(select(AuditLog.action).where(AuditLog.object_id == body["id"]))).scalars()
        assert list(audit) == ["webhook_endpoint.create"]


async def test_bad_event_types_and_empty_lists_are_refused(client, merchant, receiver):
    for events, code in ((["payment.completed"], "unknown_event_type"), ([], None)):
        response = await client.post(
            "/v1/webhook_endpoints",
            json={"url": receiver.url, "enabled_events": events},
            headers=auth(merchant.secret),
        )
        assert response.status_code == 400, response.text
        if code:
            assert response.json()["error"]["code"] == code


async def test_update_and_delete(client, merchant, receiver):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    updated = await client.patch(
        path,
        json={
            "enabled_events": ["refund.succeeded", "refund.failed"],
            "description": "refunds",
            "disabled": True,
        },
        headers=auth(merchant.secret),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["enabled_events"] == ["refund.succeeded", "refund.failed"]
    assert updated.json()["status"] == "disabled" and updated.json()["description"] == "refunds"
    restricted = await client.patch(path, json={"disabled": False}, headers=auth(merchant.restricted))
    assert restricted.status_code == 403
    deleted = await client.delete(path, headers=auth(merchant.secret))
    assert deleted.status_code == 200 and deleted.json() == {
        "id": endpoint["id"],
        "object": "webhook_endpoint",
        "deleted": True,
    }
    assert (await client.get(path, headers=auth(merchant.secret))).status_code == 404


async def test_rolling_the_secret_signs_with_both_for_a_day(
    client, merchant, sessions, receiver, worker, clock
):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    rolled = await client.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/roll_secret", headers=auth(merchant.secret)
    )
    assert rolled.status_code == 200, rolled.text
    new_secret = rolled.json()["secret"]
    assert new_secret != endpoint["secret"] and rolled.json()["previous_secret_expires"] > time.time()
    await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    await worker.deliver_due_once()
    [got] = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(endpoint["secret"]).verify(got.body, got.headers)
    assert Webhook(new_secret).verify(got.body, got.headers)
    # A day later only the new secret signs.
    clock.advance(hours=24, seconds=1)
    receiver.received.clear()
    await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    await worker.deliver_due_once()
    [later] = receiver.received
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    assert Webhook(new_secret).verify(later.body, later.headers)


async def test_test_ping_is_delivered_to_that_endpoint_only(
    client, merchant, sessions, receiver, worker, clock
):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url, ["refund.failed"])
    await add_endpoint(client, merchant.secret, receiver.url)  # takes every type, but not the ping
    queued = await client.post(f"/v1/webhook_endpoints/{endpoint['id']}/test", headers=auth(merchant.secret))
    assert queued.status_code == 200, queued.text
    assert queued.json()["status"] == "pending" and queued.json()["event_type"] == "webhook_endpoint.test"
    clock.now = utcnow()  # the API queued it at the real time; the worker's clock started earlier
    await worker.fan_out_once()
    assert await worker.deliver_due_once() == 1
    [got] = receiver.received
    assert Webhook(endpoint["secret"]).verify(got.body, got.headers)["type"] == "webhook_endpoint.test"
    listed = (
        await client.get(f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=auth(merchant.secret))
    ).json()
    [delivery] = listed["data"]
    assert delivery["status"] == "succeeded" and delivery["attempts"][0]["status_code"] == 200


async def test_redeliver_sends_the_event_again_with_the_same_webhook_id(
    client, merchant, sessions, receiver, worker, clock
):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    [event_id] = await add_events(sessions, merchant.id)
    await worker.fan_out_once()
    await worker.deliver_due_once()
    response = await client.post(f"/v1/events/{event_id}/redeliver", headers=auth(merchant.secret))
    assert response.status_code == 200, response.text
    [queued] = response.json()["data"]
    assert queued["status"] == "pending" and queued["webhook_endpoint"] == endpoint["id"]
    clock.now = utcnow()  # queued at the real time by the API
    assert await worker.deliver_due_once() == 1
    assert receiver.ids() == {event_id: 2}
    # To one named endpoint, even one created after the event.
    late = await add_endpoint(client, merchant.secret, receiver.url)
    one = await client.post(
        f"/v1/events/{event_id}/redeliver",
        json={"webhook_endpoint": late["id"]},
        headers=auth(merchant.secret),
    )
    assert [d["webhook_endpoint"] for d in one.json()["data"]] == [late["id"]]
    clock.now = utcnow()
    await worker.deliver_due_once()
    assert receiver.ids() == {event_id: 3}
    assert Webhook(late["secret"]).verify(receiver.received[-1].body, receiver.received[-1].headers)


async def test_a_merchant_never_sees_another_merchants_endpoints_events_or_deliveries(
    client, merchant, other_merchant, sessions, receiver, worker
):
    endpoint = await add_endpoint(client, merchant.secret, receiver.url)
    other_endpoint = await add_endpoint(client, other_merchant.secret, receiver.url)
    [event_id] = await add_events(sessions, merchant.id)
    [other_event] = await add_events(sessions, other_merchant.id)
    await worker.fan_out_once()
    await worker.deliver_due_once()
    # Each endpoint got only its merchant's event.
    by_id = {r.webhook_id: r for r in receiver.received}
    assert set(by_id) == {event_id, other_event}
    assert Webhook(endpoint["secret"]).verify(by_id[event_id].body, by_id[event_id].headers)
    assert Webhook(other_endpoint["secret"]).verify(by_id[other_event].body, by_id[other_event].headers)
    key = auth(other_merchant.secret)
    base = f"/v1/webhook_endpoints/{endpoint['id']}"
    for method, path in (
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", base + "/roll_secret"),
        ("POST", base + "/test"),
        ("GET", base + "/deliveries"),
        ("GET", f"/v1/events/{event_id}"),
        ("POST", f"/v1/events/{event_id}/redeliver"),
    ):
        kwargs = {"json": {"description": "x"}} if method == "PATCH" else {}
        response = await client.request(method, path, headers=key, **kwargs)
        assert response.status_code == 404, (method, path, response.text)
    listed = (await client.get("/v1/webhook_endpoints", headers=key)).json()
    assert [e["id"] for e in listed["data"]] == [other_endpoint["id"]]
    events = (await client.get("/v1/events", headers=key)).json()
    assert [e["id"] for e in events["data"]] == [other_event]
    # Redelivering one's own event to another merchant's endpoint is not found either.
    cross = await client.post(
        f"/v1/events/{other_event}/redeliver", json={"webhook_endpoint": endpoint["id"]}, headers=key
    )
    assert cross.status_code == 404
    # Live keys see neither the test endpoints nor the test events.
    live = auth(merchant.live_secret)
    assert (await client.get("/v1/webhook_endpoints", headers=live)).json()["data"] == []
    assert (await client.get(base, headers=live)).status_code == 404
    assert (await client.get("/v1/events", headers=live)).json()["data"] == []
