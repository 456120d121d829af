"""GET /v1/audit_logs: the merchant's own mutating calls, newest first, never another merchant's."""

from __future__ import annotations

import pytest

from intents_fixtures import auth

pytestmark = pytest.mark.db

BODY = {"network": "local", "asset": "USDC", "amount": "1000000"}


async def create_intents(client, key: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        response = await client.post("/v1/payment_intents", json=BODY, headers=auth(key))
        assert response.status_code == 200, response.text
        ids.append(response.json()["id"])
    return ids


async def test_lists_who_did_what_newest_first_and_only_for_the_caller(client, merchant, other_merchant):
    mine = await create_intents(client, merchant.secret, 3)
    cancel = await client.post(f"/v1/payment_intents/{mine[0]}/cancel", headers=auth(merchant.secret))
    theirs = await create_intents(client, other_merchant.secret, 2)

    response = await client.get("/v1/audit_logs", params={"limit": 100}, headers=auth(merchant.secret))
    assert response.status_code == 200, response.text
    body = response.json()
    entries = body["data"]
    assert body["object"] == "list" and body["has_more"] is False
    expected = ["payment_intent.create"] * 3 + (
        ["payment_intent.cancel"] if cancel.status_code == 200 else []
    )
    assert sorted(e["action"] for e in entries) == sorted(expected)
    assert {e["object_id"] for e in entries} == set(mine)
    assert not {e["object_id"] for e in entries} & set(theirs)
    assert [e["created"] for e in entries] == sorted((e["created"] for e in entries), reverse=True)
    first = entries[-1]
    assert first["id"].startswith("al_") and first["object"] == "audit_log"
    assert first["api_key_prefix"].startswith("sk_test_") and first["status_code"] == 200
    assert first["request_id"] and first["ip"]

    # A restricted key reads the log too; a publishable key cannot.
    assert (await client.get("/v1/audit_logs", headers=auth(merchant.restricted))).status_code == 200
    assert (await client.get("/v1/audit_logs", headers=auth(merchant.publishable))).status_code == 403


async def test_pagination_and_filters(client, merchant, other_merchant):
    ids = await create_intents(client, merchant.secret, 5)
    page1 = (await client.get("/v1/audit_logs", params={"limit": 2}, headers=auth(merchant.secret))).json()
    assert page1["has_more"] is True and len(page1["data"]) == 2
    page2 = (
        await client.get(
            "/v1/audit_logs",
            params={"limit": 10, "starting_after": page1["data"][-1]["id"]},
            headers=auth(merchant.secret),
        )
    ).json()
    assert page2["has_more"] is False
    seen = [e["object_id"] for e in page1["data"] + page2["data"]]
    assert sorted(seen) == sorted(ids) and len(set(seen)) == 5
    back = (
        await client.get(
            "/v1/audit_logs",
            params={"limit": 10, "ending_before": page2["data"][0]["id"]},
            headers=auth(merchant.secret),
        )
    ).json()
    assert [e["id"] for e in back["data"]] == [e["id"] for e in page1["data"]]

    only = await client.get("/v1/audit_logs", params={"object_id": ids[2]}, headers=auth(merchant.secret))
    assert [e["object_id"] for e in only.json()["data"]] == [ids[2]]
    prefix = await client.get(
        "/v1/audit_logs", params={"action": "payment_intent."}, headers=auth(merchant.secret)
    )
    assert len(prefix.json()["data"]) == 5
    none = await client.get(
        "/v1/audit_logs", params={"action": "refund.create"}, headers=auth(merchant.secret)
    )
    assert none.json()["data"] == []

    # Another merchant's entry is not a cursor here; nor is an id that is no audit log entry.
    theirs = (await client.get("/v1/audit_logs", headers=auth(other_merchant.secret))).json()["data"]
    assert theirs == []
    await create_intents(client, other_merchant.secret, 1)
    other_id = (await client.get("/v1/audit_logs", headers=auth(other_merchant.secret))).json()["data"][0][
        "id"
    ]
    foreign = await client.get(
        "/v1/audit_logs", params={"starting_after": other_id}, headers=auth(merchant.secret)
    )
    assert foreign.status_code == 404
    bad = await client.get(
        "/v1/audit_logs", params={"starting_after": "pi_123"}, headers=auth(merchant.secret)
    )
    assert bad.status_code == 404 and bad.json()["error"]["param"] == "starting_after"
    limit = await client.get("/v1/audit_logs", params={"limit": 0}, headers=auth(merchant.secret))
    assert limit.status_code == 400
