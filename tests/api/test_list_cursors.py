"""Every list takes Stripe's cursors the same way (sluice.db.pagination.cursor_page): pages meet
without gaps or repeats, `ending_before` walks back, another merchant's id is a 404, both cursors a 400."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sluice.clock import utcnow
from sluice.models.refund import Refund, RefundStatus

from intents_fixtures import auth

pytestmark = pytest.mark.db

BODY = {"network": "local", "asset": "USDC", "amount": "1000000", "capture_method": "manual"}


@pytest.fixture
async def refunds(client, merchant, other_merchant, sessions) -> tuple[list[str], str]:
    """Five refunds of the merchant (newest first) and one of the other merchant."""
    intent = (await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))).json()
    theirs = (await client.post("/v1/payment_intents", json=BODY, headers=auth(other_merchant.secret))).json()
    now = utcnow()
    rows = [
        Refund(
            merchant_id=merchant.id,
            payment_intent_id=intent["id"],
            amount=1000 + i,
            status=RefundStatus.succeeded,
            created_at=now - timedelta(seconds=i),
        )
        for i in range(5)
    ]
    foreign = Refund(
        merchant_id=other_merchant.id, payment_intent_id=theirs["id"], amount=1, status=RefundStatus.succeeded
    )
    async with sessions() as s, s.begin():
        s.add_all([*rows, foreign])
    return [r.id for r in rows], foreign.id


@pytest.mark.parametrize(
    "path", ["/v1/refunds", "/v1/payment_intents", "/v1/events", "/v1/webhook_endpoints"]
)
async def test_both_cursors_at_once_are_refused(client, merchant, path):
    response = await client.get(
        path, params={"starting_after": "x_1", "ending_before": "x_2"}, headers=auth(merchant.secret)
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "ending_before"


async def test_refunds_page_forwards_and_back(client, merchant, refunds):
    ids, _ = refunds
    key = auth(merchant.secret)
    first = (await client.get("/v1/refunds", params={"limit": 2}, headers=key)).json()
    assert [r["id"] for r in first["data"]] == ids[:2] and first["has_more"] is True
    rest = (
        await client.get("/v1/refunds", params={"limit": 10, "starting_after": ids[1]}, headers=key)
    ).json()
    assert [r["id"] for r in rest["data"]] == ids[2:] and rest["has_more"] is False
    back = (await client.get("/v1/refunds", params={"limit": 2, "ending_before": ids[4]}, headers=key)).json()
    assert [r["id"] for r in back["data"]] == ids[2:4]


async def test_another_merchants_id_is_not_a_cursor(client, merchant, refunds):
    _, foreign = refunds
    response = await client.get(
        "/v1/refunds", params={"starting_after": foreign}, headers=auth(merchant.secret)
    )
    assert response.status_code == 404 and response.json()["error"]["param"] == "starting_after"
