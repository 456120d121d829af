"""/v1/events: cursor pagination and filters; events recorded with the changes that cause them;
the scheduled jobs (expiry, idempotency pruning) safe on several workers at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from webhooks_support import add_events, auth

from sluice.clock import utcnow
from sluice.db.session import transaction
from sluice.jobs.tasks import expire_intents, prune_idempotency
from sluice.models.event import Event
from sluice.models.idempotency import IdempotencyKey
from sluice.models.payment_intent import PaymentIntent

pytestmark = pytest.mark.db

INTENT = {"network": "local", "asset": "USDC", "amount": "25000000"}


async def test_events_page_newest_first_with_cursors(client, merchant, sessions):
    start = utcnow()
    ids = []
    for i in range(7):  # distinct creation times, one second apart
        ids += await add_events(sessions, merchant.id, created_at=start + timedelta(seconds=i))
    newest_first = ids[::-1]
    key = auth(merchant.restricted)
    first = (await client.get("/v1/events?limit=3", headers=key)).json()
    assert [e["id"] for e in first["data"]] == newest_first[:3] and first["has_more"] is True
    second = (await client.get(f"/v1/events?limit=3&starting_after={newest_first[2]}", headers=key)).json()
    assert [e["id"] for e in second["data"]] == newest_first[3:6] and second["has_more"] is True
    third = (await client.get(f"/v1/events?limit=3&starting_after={newest_first[5]}", headers=key)).json()
    assert [e["id"] for e in third["data"]] == newest_first[6:] and third["has_more"] is False
    back = (await client.get(f"/v1/events?limit=2&ending_before={newest_first[3]}", headers=key)).json()
    assert [e["id"] for e in back["data"]] == newest_first[1:3]
    unknown = await client.get("/v1/events?starting_after=evt_nope", headers=key)
    assert unknown.status_code == 404 and unknown.json()["error"]["param"] == "starting_after"
    one = (await client.get(f"/v1/events/{ids[0]}", headers=key)).json()
    assert one["object"] == "event" and one["type"] == "payment_intent.succeeded" and one["livemode"] is False
    assert one["data"]["object"]["id"] == "pi_test0" and one["created"] == int(start.timestamp())
    assert (await client.get("/v1/events", headers=auth(merchant.publishable))).status_code == 403


async def test_events_filter_by_type_prefix_and_created(client, merchant, sessions):
    t0 = utcnow().replace(microsecond=0)
    [a] = await add_events(sessions, merchant.id, type="payment_intent.succeeded", created_at=t0)
    [b] = await add_events(sessions, merchant.id, type="refund.failed", created_at=t0 + timedelta(seconds=10))
    [c] = await add_events(
        sessions, merchant.id, type="payment_intent.canceled", created_at=t0 + timedelta(seconds=20)
    )
    key = auth(merchant.secret)

    async def ids(query: str) -> list[str]:
        response = await client.get(f"/v1/events?{query}", headers=key)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["data"]]

    assert await ids("type=refund.failed") == [b]
    assert await ids("type=payment_intent.*") == [c, a]
    assert await ids("types[]=refund.failed&types[]=payment_intent.canceled") == [c, b]
    ts = int(t0.timestamp())
    assert await ids(f"created[gte]={ts + 5}") == [c, b]
    assert await ids(f"created[lte]={ts + 15}") == [b, a]
    assert await ids(f"created[gte]={ts + 5}&created[lte]={ts + 15}&type=payment_intent.*") == []


async def test_create_and_cancel_record_their_events_in_the_same_transaction(client, merchant, sessions):
    created = (await client.post("/v1/payment_intents", json=INTENT, headers=auth(merchant.secret))).json()
    canceled = await client.post(f"/v1/payment_intents/{created['id']}/cancel", headers=auth(merchant.secret))
    assert canceled.status_code == 200, canceled.text
    listed = (await client.get("/v1/events", headers=auth(merchant.secret))).json()["data"]
    assert [e["type"] for e in listed] == ["payment_intent.canceled", "payment_intent.created"]
    event = listed[0]
    assert event["data"]["object"] == canceled.json()
    assert event["data"]["previous_attributes"] == {"status": "requires_payment"}
    # A cancel that fails (already canceled) records nothing.
    again = await client.post(f"/v1/payment_intents/{created['id']}/cancel", headers=auth(merchant.secret))
    assert again.status_code == 400
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Event)) == 2


async def test_expiry_job_expires_unpaid_intents_once_even_with_two_workers(client, merchant, sessions):
    intents = [
        (
            await client.post(
                "/v1/payment_intents", json={**INTENT, "expires_in": 60}, headers=auth(merchant.secret)
            )
        ).json()
        for _ in range(6)
    ]
    await client.post(f"/v1/payment_intents/{intents[0]['id']}/cancel", headers=auth(merchant.secret))
    later = utcnow() + timedelta(seconds=61)
    assert await _expire(sessions, utcnow()) == []  # not yet due
    assert await _expire(sessions, later, grace=timedelta(seconds=30)) == []  # within the grace

    results = await asyncio.gather(_expire(sessions, later), _expire(sessions, later))
    expired = [i for r in results for i in r]
    assert sorted(expired) == sorted(i["id"] for i in intents[1:])  # each once, the canceled one not
    async with sessions() as s:
        statuses = dict((await s.execute(select(PaymentIntent.id, PaymentIntent.status))).all())
        assert statuses[intents[0]["id"]] == "canceled"
        assert {statuses[i["id"]] for i in intents[1:]} == {"expired"}
        events = (
            await s.execute(select(Event.object_id).where(Event.type == "payment_intent.expired"))
        ).scalars()
        assert sorted(events) == sorted(expired)
    shown = (
        await client.get(f"/v1/payment_intents/{intents[1]['id']}", headers=auth(merchant.secret))
    ).json()
    assert shown["status"] == "expired"


async def _expire(sessions, now, grace=timedelta(0)) -> list[str]:
    async with transaction(sessions) as session:
        return await expire_intents(session, now, "http://127.0.0.1:8000/checkout", grace=grace)


async def test_prune_job_deletes_old_idempotency_keys_on_one_worker_at_a_time(merchant, sessions):
    now = utcnow()
    async with sessions() as s, s.begin():
        for i, age in enumerate((timedelta(hours=25), timedelta(hours=1))):
            s.add(
                IdempotencyKey(
                    merchant_id=merchant.id,
                    key=f"k{i}",
                    request_hash="0" * 64,
                    created_at=now - age,
                )
            )
    async with transaction(sessions) as first:
        assert await prune_idempotency(first) == 1
        async with transaction(sessions) as second:  # the lock is held: the other worker skips
            assert await prune_idempotency(second) is None
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


async def test_a_refund_whose_transaction_reverted_is_kept_as_failed_with_its_events(
    client, merchant, sessions
):
    """The relayed refund reverted on chain: the refund row says failed and refund.created and
    refund.failed are recorded with it (the chain step is faked here; tests/api/test_payments_onchain.py
    covers the real relay)."""
    from sluice.intents.operations import RefundRevertedError
    from sluice.merchants.service import merchant_service
    from sluice.models.refund import Refund
    from sluice.refunds.service import RefundService

    intent = (await client.post("/v1/payment_intents", json=INTENT, headers=auth(merchant.secret))).json()

    class RevertingOperations:
        async def refund_escrow(self, session, principal, intent_id, amount):
            raise RefundRevertedError("refund transaction 0xabc reverted", amount=5, tx_hash="0xabc")

    async with transaction(sessions) as s:
        principal = await merchant_service.authenticate(s, merchant.secret)
        refund = await RefundService(RevertingOperations()).create(s, principal, intent["id"], None, None)  # type: ignore[arg-type]
    async with sessions() as s:
        row = await s.get(Refund, refund.id)
        assert row.status == "failed" and row.failure_reason == "transaction_reverted" and row.amount == 5
    listed = (await client.get("/v1/events?type=refund.*", headers=auth(merchant.secret))).json()["data"]
    assert sorted(e["type"] for e in listed) == ["refund.created", "refund.failed"]
    failed = next(e for e in listed if e["type"] == "refund.failed")["data"]["object"]
    assert failed["status"] == "failed" and failed["failure_reason"] == "transaction_reverted"
    assert failed["tx_hash"] == "0xabc"


async def test_price_refresh_asks_the_source_for_every_pair_quoted_in_the_last_day(merchant, sessions):
    from decimal import Decimal

    from sluice.errors import PricingUnavailableError
    from sluice.jobs.tasks import refresh_prices
    from sluice.models.quote import Quote

    now = utcnow()
    async with sessions() as s, s.begin():
        for asset, currency, age in (
            ("ETH", "usd", 1),
            ("ETH", "usd", 2),
            ("BNB", "eur", 3),
            ("SOL", "usd", 48),
        ):
            s.add(
                Quote(
                    merchant_id=merchant.id,
                    fiat_amount=Decimal("10"),
                    currency=currency,
                    network="local",
                    asset=asset,
                    decimals=18,
                    rate=Decimal("3000"),
                    source="fixed",
                    amount=1,
                    locked_until=now,
                    created_at=now - timedelta(hours=age),
                )
            )
    asked: list[tuple[str, str]] = []

    class Source:
        async def rate(self, base: str, quote: str) -> object:
            asked.append((base, quote))
            if base == "BNB":
                raise PricingUnavailableError("down")
            return object()

    async with transaction(sessions) as session:
        assert await refresh_prices(session, Source(), now) == (1, 1)  # type: ignore[arg-type]
    assert sorted(asked) == [("BNB", "eur"), ("ETH", "usd")]


async def test_the_expiry_event_of_a_fiat_priced_intent_carries_its_quote(client, merchant, sessions):
    """The expiry job loads the quotes as plain records (sluice.intents.record.quotes_of, shared with
    the indexer): its event shows the intent exactly as GET does, quote included."""
    body = {
        "network": "local",
        "asset": "USDC",
        "price": {"amount": "25.00", "currency": "usd"},
        "expires_in": 60,
    }
    created = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
    assert created.status_code == 200, created.text
    intent = created.json()
    assert intent["quote"] is not None
    assert await _expire(sessions, utcnow() + timedelta(seconds=61)) == [intent["id"]]
    headers = auth(merchant.secret)
    shown = (await client.get(f"/v1/payment_intents/{intent['id']}", headers=headers)).json()
    listed = (await client.get("/v1/events?type=payment_intent.expired", headers=headers)).json()
    [event] = listed["data"]
    payload = event["data"]["object"]
    assert payload["quote"] == shown["quote"] == intent["quote"]
    assert payload["quote"]["fiat_amount"] == "25.00"
    # All the rest alike too, but the checkout link: _expire passes its own checkout base URL.
    assert {k: v for k, v in payload.items() if k != "checkout_url"} == {
        k: v for k, v in shown.items() if k != "checkout_url"
    }
