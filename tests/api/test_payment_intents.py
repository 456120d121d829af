"""POST/GET /v1/payment_intents: status, body and database state for happy paths and bad input."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import func, select

from sluice.models.event import Event
from sluice.models.payment_intent import PaymentIntent

from intents_fixtures import ESCROW, FEE_RECIPIENT, OPERATOR_KEY, PAYMENTS, auth

pytestmark = pytest.mark.db

PAYOUT = "0x" + "ab" * 20
BODY = {"network": "local", "asset": "USDC", "amount": "25000000"}


async def create(client, key, **changes):
    body = {**BODY, **changes}
    return await client.post("/v1/payment_intents", json=body, headers=auth(key))


async def count(sessions) -> int:
    async with sessions() as s:
        return int((await s.execute(select(func.count()).select_from(PaymentIntent))).scalar_one())


async def test_create_returns_a_signed_intent_and_stores_it(client, merchant, sessions):
    response = await create(client, merchant.secret, metadata={"order": "42"}, description="Order 42")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("pi_") and body["object"] == "payment_intent"
    assert body["status"] == "requires_payment"
    assert body["amount"] == "25000000" and body["amount_received"] == "0"
    assert body["client_secret"].startswith(body["id"] + "_secret_")
    assert body["checkout_url"].endswith(f"/{body['id']}?secret={body['client_secret']}")
    assert body["metadata"] == {"order": "42"} and body["livemode"] is False
    onchain = body["onchain"]
    assert onchain["kind"] == "payments" and onchain["chain_id"] == 31337
    assert onchain["contract"].lower() == PAYMENTS
    [split] = onchain["intent"]["splits"]
    assert split["recipient"].lower() == FEE_RECIPIENT and split["bps"] == 100
    # The signature recovers to the operator over the typed data the contract verifies.
    typed = onchain["typed_data"]
    message = {
        **typed["message"],
        "id": bytes.fromhex(typed["message"]["id"][2:]),
        **{k: int(typed["message"][k]) for k in ("nonce", "amount", "deadline", "reclaimAfter")},
    }
    signable = encode_typed_data(full_message={**typed, "message": message})
    signer = Account.recover_message(signable, signature=bytes.fromhex(onchain["signature"][2:]))
    assert signer == Account.from_key(OPERATOR_KEY).address
    assert await count(sessions) == 1
    async with sessions() as s:
        row = await s.get(PaymentIntent, body["id"])
        assert row is not None and row.amount == 25_000_000 and row.payout_address.lower() == PAYOUT


async def test_create_records_a_created_event_carrying_the_response(client, merchant, sessions):
    response = await create(client, merchant.secret, metadata={"order": "43"})
    body = response.json()
    async with sessions() as s:
        events = (await s.execute(select(Event).where(Event.object_id == body["id"]))).scalars().all()
    assert [(e.type, e.merchant_id, e.livemode) for e in events] == [
        ("payment_intent.created", merchant.id, False)
    ]
    assert events[0].id.startswith("evt_") and events[0].dispatched_at is None
    assert events[0].data["object"] == body


async def test_manual_capture_uses_the_escrow_with_a_reclaim_time(client, merchant):
    body = (await create(client, merchant.secret, capture_method="manual")).json()
    assert body["onchain"]["kind"] == "escrow" and body["onchain"]["contract"].lower() == ESCROW
    assert int(body["onchain"]["intent"]["reclaimAfter"]) > int(body["onchain"]["intent"]["deadline"])


async def test_nonces_are_dense_and_unique_per_contract(client, merchant):
    nonces = [
        int((await create(client, merchant.secret)).json()["onchain"]["intent"]["nonce"]) for _ in range(5)
    ]
    assert nonces == list(range(nonces[0], nonces[0] + 5))
    escrow = [
        int(
            (await create(client, merchant.secret, capture_method="manual")).json()["onchain"]["intent"][
                "nonce"
            ]
        )
        for _ in range(2)
    ]
    assert escrow[1] == escrow[0] + 1  # the escrow contract has a sequence of its own


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        ({"amount": "0"}, "amount", "parameter_invalid"),
        ({"amount": "-5"}, "amount", "parameter_invalid"),
        ({"amount": "1.5"}, "amount", "parameter_invalid"),
        ({"amount": 1.5}, "amount", "parameter_invalid"),
        ({"amount": str(2**256)}, "amount", "parameter_invalid"),
        ({"amount": None}, "amount", "parameter_missing"),
        ({"network": "nowhere"}, "network", "unknown_network"),
        ({"asset": "DOGE"}, "asset", "unknown_asset"),
        ({"network": "ethereum"}, "network", "livemode_mismatch"),
        ({"network": "sepolia", "asset": "ETH"}, "network", "contract_not_deployed"),
        ({"colour": "red"}, "colour", "parameter_unknown"),
        ({"payer": "0x52908400098527886E0F7030069857D2E4169ee7"}, "payer", "invalid_address"),
        ({"payer": "0x1234"}, "payer", "invalid_address"),
        ({"expires_in": 5}, "expires_in", "parameter_invalid"),
        ({"splits": [{"recipient": "0x" + "66" * 20, "bps": 5000}]}, "splits", "fee_too_high"),
        ({"metadata": {"k" * 41: "v"}}, "metadata", "parameter_invalid"),
        ({"metadata": {"k": "v" * 501}}, "metadata", "parameter_invalid"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata", "parameter_invalid"),
        ({"allow_partial": True}, "allow_partial", "parameter_invalid"),
        ({"allow_partial": True, "capture_method": "manual"}, "payer", "parameter_missing"),
        ({"price": {"amount": "25.00", "currency": "usd"}}, "amount", "parameter_invalid"),
    ],
)
async def test_bad_input_is_rejected_and_nothing_is_stored(client, merchant, sessions, changes, param, code):
    response = await create(client, merchant.secret, **changes)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    assert error["param"] is not None and error["param"].startswith(param)
    assert await count(sessions) == 0


async def test_live_key_on_test_network_is_rejected(client, merchant):
    response = await create(client, merchant.live_secret)
    assert response.status_code == 400 and response.json()["error"]["code"] == "livemode_mismatch"


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "api_key_missing"),
        ({"Authorization": "Bearer nonsense"}, 401, "invalid_api_key"),
        ({"Authorization": "Token abc"}, 401, "invalid_api_key"),
        ({"Authorization": "Bearer sk_test_" + "A" * 32}, 401, "invalid_api_key"),
    ],
)
async def test_authentication_errors(client, headers, status, code):
    response = await client.post("/v1/payment_intents", json=BODY, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.json()["error"]["code"] == code


async def test_publishable_and_restricted_keys_cannot_create(client, merchant):
    for key in (merchant.publishable, merchant.restricted):
        response = await create(client, key)
        assert response.status_code == 403
        assert response.json()["error"]["type"] == "permission_error"


async def test_restricted_key_can_read(client, merchant):
    created = (await create(client, merchant.secret)).json()
    response = await client.get(f"/v1/payment_intents/{created['id']}", headers=auth(merchant.restricted))
    assert response.status_code == 200 and response.json()["id"] == created["id"]


async def test_another_merchants_intent_is_not_found(client, merchant, other_merchant):
    created = (await create(client, merchant.secret)).json()
    for path in (f"/v1/payment_intents/{created['id']}",):
        response = await client.get(path, headers=auth(other_merchant.secret))
        assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"
    cancel = await client.post(
        f"/v1/payment_intents/{created['id']}/cancel", headers=auth(other_merchant.secret)
    )
    assert cancel.status_code == 404
    listed = await client.get("/v1/payment_intents", headers=auth(other_merchant.secret))
    assert listed.json()["data"] == []


async def test_list_paginates_newest_first(client, merchant):
    ids = [(await create(client, merchant.secret)).json()["id"] for _ in range(5)]
    first = (await client.get("/v1/payment_intents?limit=2", headers=auth(merchant.secret))).json()
    assert [i["id"] for i in first["data"]] == ids[::-1][:2] and first["has_more"] is True
    second = (
        await client.get(
            f"/v1/payment_intents?limit=2&starting_after={first['data'][-1]['id']}",
            headers=auth(merchant.secret),
        )
    ).json()
    assert [i["id"] for i in second["data"]] == ids[::-1][2:4] and second["has_more"] is True
    back = (
        await client.get(
            f"/v1/payment_intents?limit=2&ending_before={second['data'][0]['id']}",
            headers=auth(merchant.secret),
        )
    ).json()
    assert [i["id"] for i in back["data"]] == ids[::-1][:2]
    bad = await client.get("/v1/payment_intents?limit=101", headers=auth(merchant.secret))
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "limit"


async def test_list_filters_by_status(client, merchant):
    a = (await create(client, merchant.secret)).json()
    await create(client, merchant.secret)
    await client.post(f"/v1/payment_intents/{a['id']}/cancel", headers=auth(merchant.secret))
    listed = (await client.get("/v1/payment_intents?status=canceled", headers=auth(merchant.secret))).json()
    assert [i["id"] for i in listed["data"]] == [a["id"]]


async def test_cancel_then_cancel_again_is_an_invalid_state(client, merchant, sessions):
    created = (await create(client, merchant.secret)).json()
    path = f"/v1/payment_intents/{created['id']}/cancel"
    first = await client.post(path, json={"cancellation_reason": "abandoned"}, headers=auth(merchant.secret))
    assert first.status_code == 200
    assert first.json()["status"] == "canceled" and first.json()["cancellation_reason"] == "abandoned"
    again = await client.post(path, headers=auth(merchant.secret))
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "payment_intent_unexpected_state"
    async with sessions() as s:
        row = await s.get(PaymentIntent, created["id"])
        assert row is not None and row.status == "canceled" and row.canceled_at is not None


async def test_revoked_key_is_refused_by_the_api(client, merchant, sessions):
    from sluice.merchants import keys
    from sluice.merchants.service import merchant_service
    from sluice.models.merchant import ApiKey

    async with sessions() as s, s.begin():
        row = (
            await s.execute(select(ApiKey).where(ApiKey.key_hash == keys.hash_key(merchant.secret)))
        ).scalar_one()
        await merchant_service.revoke(s, merchant.id, row.id)
    response = await create(client, merchant.secret)
    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_revoked"
    assert await count(sessions) == 0
