"""Idempotency on the real create endpoint: one intent however many identical requests race."""

import asyncio

import pytest
from sqlalchemy import func, select

from sluice.models.audit import AuditLog
from sluice.models.payment_intent import PaymentIntent

from intents_fixtures import auth

pytestmark = pytest.mark.db

BODY = {"network": "local", "asset": "USDC", "amount": "25000000"}


async def test_hundred_concurrent_identical_creates_make_one_intent(client, merchant, sessions):
    headers = {**auth(merchant.secret), "Idempotency-Key": "order-42"}
    responses = await asyncio.gather(
        *(client.post("/v1/payment_intents", json=BODY, headers=headers) for _ in range(100))
    )
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {200, 409}, statuses
    ids = {r.json()["id"] for r in responses if r.status_code == 200}
    assert len(ids) == 1
    async with sessions() as s:
        assert (await s.execute(select(func.count()).select_from(PaymentIntent))).scalar_one() == 1
        audits = (await s.execute(select(func.count()).select_from(AuditLog))).scalar_one()
        assert audits == 1
    replay = await client.post("/v1/payment_intents", json=BODY, headers=headers)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] in ids


async def test_same_key_other_body_is_an_idempotency_error(client, merchant, sessions):
    headers = {**auth(merchant.secret), "Idempotency-Key": "order-43"}
    first = await client.post("/v1/payment_intents", json=BODY, headers=headers)
    other = await client.post("/v1/payment_intents", json={**BODY, "amount": "1"}, headers=headers)
    assert first.status_code == 200
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    async with sessions() as s:
        assert (await s.execute(select(func.count()).select_from(PaymentIntent))).scalar_one() == 1


async def test_audit_row_records_key_action_object_and_request_id(client, merchant, sessions):
    response = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    async with sessions() as s:
        row = (await s.execute(select(AuditLog))).scalar_one()
    assert row.merchant_id == merchant.id and row.action == "payment_intent.create"
    assert row.object_id == response.json()["id"] and row.request_id == response.headers["Request-Id"]
    assert row.api_key_id is not None and row.api_key_id.startswith("key_")
