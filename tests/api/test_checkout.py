"""/pay/{id}: the hosted checkout is opened by the intent's client secret and by nothing else, shows
that one intent, and tells the page its status (JSON and server-sent events)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from sluice.clock import utcnow
from sluice.models.payment_intent import PaymentIntent

from intents_fixtures import auth

pytestmark = pytest.mark.db

BODY = {"network": "local", "asset": "USDC", "amount": "25000000"}


async def new_intent(client, key: str, **changes) -> dict:
    response = await client.post("/v1/payment_intents", json={**BODY, **changes}, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


async def set_intent(sessions, intent_id: str, **values) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(PaymentIntent).where(PaymentIntent.id == intent_id).values(**values))


def path_of(checkout_url: str) -> str:
    return checkout_url.split("sluice.test", 1)[-1].split("127.0.0.1:8000", 1)[-1]


async def test_checkout_url_opens_the_page_of_that_intent(client, merchant):
    intent = await new_intent(client, merchant.secret, description="Order 42", metadata={"order": "42"})
    assert intent["checkout_url"].endswith(f"/pay/{intent['id']}?secret={intent['client_secret']}")
    response = await client.get(path_of(intent["checkout_url"]))
    assert response.status_code == 200
    html = response.text
    assert "Acme" in html and "Order 42" in html and ">25<" in html and "USDC" in html
    assert "<svg" in html  # the QR code of this very link, for a phone
    data = json.loads(html.split('id="checkout-data">')[1].split("</script>")[0])
    assert data["id"] == intent["id"] and data["status"]["status"] == "requires_payment"
    assert data["network"]["chainId"] == hex(31337) and data["native"] is False
    # The URL carries the client secret: it must not leak through a Referer, a cache or a frame.
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("secret", [None, "", "wrong", "pi_x_secret_y"])
async def test_a_wrong_or_missing_secret_is_not_found_everywhere(client, merchant, secret):
    intent = await new_intent(client, merchant.secret)
    query = "" if secret is None else f"?secret={secret}"
    for path in ("", "/status", "/events"):
        response = await client.get(f"/pay/{intent['id']}{path}{query}")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "resource_missing"
    body = {"secret": secret or "x", "payer": "0x" + "12" * 20, "method": "approve"}
    response = await client.post(f"/pay/{intent['id']}/transactions", json=body)
    assert response.status_code == 404


async def test_one_intents_secret_opens_no_other_intent(client, merchant, other_merchant):
    mine = await new_intent(client, merchant.secret)
    theirs = await new_intent(client, other_merchant.secret)
    sibling = await new_intent(client, merchant.secret)
    for target in (theirs, sibling):
        response = await client.get(f"/pay/{target['id']}?secret={mine['client_secret']}")
        assert response.status_code == 404
        status = await client.get(f"/pay/{target['id']}/status?secret={mine['client_secret']}")
        assert status.status_code == 404
    unknown = await client.get(f"/pay/pi_doesnotexist/status?secret={mine['client_secret']}")
    assert unknown.status_code == 404 and unknown.json() == status.json()


async def test_status_tells_the_page_what_it_needs(client, merchant, sessions):
    intent = await new_intent(client, merchant.secret)
    response = await client.get(f"/pay/{intent['id']}/status?secret={intent['client_secret']}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "requires_payment" and body["final"] is False
    assert body["expires_at"] == intent["expires_at"] and body["confirmations_required"] == 1
    assert response.headers["cache-control"] == "no-store"
    # Past its expiry an unpaid intent shows as expired, before any job has moved it.
    await set_intent(sessions, intent["id"], expires_at=utcnow() - timedelta(seconds=1))
    body = (await client.get(f"/pay/{intent['id']}/status?secret={intent['client_secret']}")).json()
    assert body["status"] == "expired" and body["final"] is True


async def test_event_stream_sends_the_status_and_ends_when_final(client, merchant, sessions):
    intent = await new_intent(client, merchant.secret)
    await set_intent(sessions, intent["id"], status="succeeded", amount_received=25_000_000)
    response = await client.get(f"/pay/{intent['id']}/events?secret={intent['client_secret']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\r\n\r\n") if "data:" in block]
    assert len(events) == 1
    assert "event: status" in events[0]
    payload = json.loads(events[0].split("data: ", 1)[1])
    assert payload["status"] == "succeeded" and payload["final"] is True


async def test_fiat_amount_and_return_url_are_shown(client, merchant):
    intent = await new_intent(
        client, merchant.secret, metadata={"return_url": "https://shop.example/orders/7"}
    )
    html = (await client.get(path_of(intent["checkout_url"]))).text
    assert 'href="https://shop.example/orders/7"' in html
    hostile = await new_intent(client, merchant.secret, metadata={"return_url": "javascript:alert(1)"})
    assert "javascript:" not in (await client.get(path_of(hostile["checkout_url"]))).text


async def test_script_and_styles_are_served_by_the_app(client):
    script = await client.get("/static/checkout/checkout.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "eip6963:requestProvider" in script.text
    assert "https://" not in script.text and "http://" not in script.text  # no CDN: works offline
    styles = await client.get("/static/checkout/checkout.css")
    assert styles.status_code == 200 and "text/css" in styles.headers["content-type"]


async def test_demo_shop_exists_only_in_dev_mode(client):
    assert (await client.get("/demo")).status_code == 404
    assert (await client.post("/demo/webhooks", content=b"{}")).status_code == 404
