"""Creating intents with a cached key (SLUICE_AUTH_CACHE_SECONDS): whatever the cache says, the write
re-checks the key and the merchant's payout terms in its own statement."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from sluice.intents.store import AUDIT_LOGS, EVENTS, INTENTS
from sluice.merchants import keys
from sluice.merchants.service import merchant_service
from sluice.models.audit import AuditLog
from sluice.models.event import Event
from sluice.models.merchant import ApiKey, Merchant
from sluice.models.payment_intent import PaymentIntent

from conftest import auth

pytestmark = pytest.mark.db

BODY = {"network": "local", "asset": "USDC", "amount": "25000000"}


async def count(sessions, model) -> int:
    async with sessions() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_key_revoked_after_it_was_cached_is_refused(client, merchant, sessions):
    first = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    assert first.status_code == 200, first.text
    async with sessions() as s, s.begin():
        row = (
            await s.execute(select(ApiKey).where(ApiKey.key_hash == keys.hash_key(merchant.secret)))
        ).scalar_one()
        await merchant_service.revoke(s, merchant.id, row.id)
    again = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    assert again.status_code == 401 and again.json()["error"]["code"] == "api_key_revoked"
    assert await count(sessions, PaymentIntent) == 1
    assert await count(sessions, Event) == 1 and await count(sessions, AuditLog) == 1


async def test_a_payout_address_changed_after_caching_is_the_one_signed(client, merchant, sessions):
    assert (
        await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    ).status_code == 200
    new_payout = "0x" + "cd" * 20
    async with sessions() as s, s.begin():
        await s.execute(update(Merchant).where(Merchant.id == merchant.id).values(payout_address=new_payout))
    response = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["onchain"]["intent"]["merchant"].lower() == new_payout
    async with sessions() as s:
        row = await s.get(PaymentIntent, body["id"])
        assert row is not None and row.payout_address.lower() == new_payout
    assert await count(sessions, PaymentIntent) == 2


async def test_a_payout_address_set_after_a_refusal_is_used_at_once(client, merchant, sessions):
    async with sessions() as s, s.begin():
        await s.execute(update(Merchant).where(Merchant.id == merchant.id).values(payout_address=None))
    refused = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "payout_address_missing"
    async with sessions() as s, s.begin():
        await s.execute(
            update(Merchant).where(Merchant.id == merchant.id).values(payout_address="0x" + "ab" * 20)
        )
    assert (
        await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    ).status_code == 200


def test_the_create_statement_writes_every_column_of_its_tables():
    """The one-statement insert takes its columns from the models: a new column is written too."""
    for insert, skipped in ((INTENTS, set()), (EVENTS, {"seq", "dispatched_at"}), (AUDIT_LOGS, {"id"})):
        table = insert.model.__table__
        written = {column.name for _, column in insert.attributes}
        assert written | skipped == {column.name for column in table.columns}
