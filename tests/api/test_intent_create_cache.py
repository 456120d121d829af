"""Creating intents with a cached key (SLUICE_AUTH_CACHE_SECONDS): whatever the cache says, the write
re-checks the key and the merchant's payout terms in its own statement."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from api.keycache import key_cache
from sluice.audit.service import AuditContext
from sluice.intents.repository.create import AUDIT_LOGS, EVENTS, INTENTS, CreatedWriter
from sluice.intents.schemas import CreateIntent
from sluice.intents.signing import NonceAllocator
from sluice.merchants import keys
from sluice.merchants.service import merchant_service
from sluice.models.audit import AuditLog
from sluice.models.event import Event
from sluice.models.merchant import ApiKey, Merchant
from sluice.models.payment_intent import PaymentIntent

from intents_fixtures import auth

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
        await s.execute(
            update(Merchant).where(Merchant.id == merchant.id).values(payout_addresses={"evm": new_payout})
        )
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
        await s.execute(update(Merchant).where(Merchant.id == merchant.id).values(payout_addresses={}))
    refused = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "payout_address_missing"
    async with sessions() as s, s.begin():
        await s.execute(
            update(Merchant)
            .where(Merchant.id == merchant.id)
            .values(payout_addresses={"evm": "0x" + "ab" * 20})
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


async def test_concurrent_creates_are_written_together_each_with_its_event_and_audit_row(
    app, client, merchant, sessions, monkeypatch
):
    sizes: list[int] = []
    write_batch = CreatedWriter._write_batch

    async def recording(self, batch):
        sizes.append(len(batch))
        await write_batch(self, batch)

    monkeypatch.setattr(CreatedWriter, "_write_batch", recording)
    responses = await asyncio.gather(
        *(client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret)) for _ in range(20))
    )
    assert [r.status_code for r in responses] == [200] * 20
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 20 and sum(sizes) == 20 and max(sizes) > 1
    async with sessions() as s:
        events = (await s.execute(select(Event.object_id, Event.data))).all()
        audits = (await s.execute(select(AuditLog.object_id))).scalars().all()
    assert {object_id for object_id, _ in events} == ids and set(audits) == ids
    bodies = {r.json()["id"]: r.json() for r in responses}
    assert all(data["object"] == bodies[object_id] for object_id, data in events)


async def test_a_failing_batch_is_written_row_by_row_so_only_the_bad_row_fails(app, merchant, sessions):
    captured: list[tuple] = []

    class Capture:
        pool = app.state.driver_pool

        async def write(self, *row):
            captured.append(row)
            return True

    account = await key_cache(app.state).refresh(app.state.sessions, merchant.secret)
    params = CreateIntent(network="local", asset="USDC", amount=5)
    for _ in range(3):
        await app.state.intents.create(Capture(), account, params, AuditContext("192.0.2.1", "req_test", 200))
    # Written together (queued before the writer runs); the third reuses the first one's intent id,
    # so the batch statement fails on the primary key.
    third = captured[2]
    third[2].id = captured[0][2].id
    writer = CreatedWriter(app.state.driver_pool)
    results = await asyncio.gather(*(writer.write(*row) for row in captured), return_exceptions=True)
    assert results[0] is True and results[1] is True and isinstance(results[2], Exception)
    assert await count(sessions, PaymentIntent) == 2 and await count(sessions, Event) == 2


async def test_two_processes_nonce_blocks_never_overlap_and_each_is_in_order(app):
    pool = app.state.driver_pool
    first, second = NonceAllocator(block=4), NonceAllocator(block=4)
    taken = [
        await allocator.next(pool, "local", "0x" + "77" * 20)
        for allocator in (first, second, first, second, first, first, first)
    ]
    from_first = [taken[i] for i in (0, 2, 4, 5, 6)]
    from_second = [taken[i] for i in (1, 3)]
    assert len(set(taken)) == len(taken)
    assert from_first[:4] == list(range(from_first[0], from_first[0] + 4))  # one block, in order
    assert from_second == [from_second[0], from_second[0] + 1]
