"""The hosted checkout pays a Stacks intent in headless Chromium: an injected Stacks wallet (the shape
of Leather's `window.LeatherProvider`) connects, receives the `stx_callContract` request the API
built (deny-mode post-condition for exactly the amount), signs it with a dev key and broadcasts it
to the local Stacks chain; the indexer's Stacks follower sees the contract's `paid` event, the page
shows "paid", and the demo receiver gets a verified `payment_intent.succeeded`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from stacks_wallet import StacksTestWallet
from test_checkout_browser import (
    PAID_TIMEOUT_MS,
    assert_signed,
    db_status,
    open_checkout,
    wait_for_delivery,
    wait_state,
)

from sluice.rails.stacks.devnode import DEV_WALLET_1_KEY

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.chain]


@pytest.fixture
def stacks(dev_stack: dict[str, Any]) -> dict[str, Any]:
    if not dev_stack.get("stacks"):
        pytest.skip("the local Stacks chain did not start (Node.js or npm packages missing)")
    return dict(dev_stack["stacks"])


def create_stacks_intent(stack: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{stack['api_url']}/v1/payment_intents",
        json={"network": "stacks-local", "asset": "STX", "amount": "1250000", **body},
        headers={"Authorization": f"Bearer {stack['secret_key']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("asset", "amount", "condition"),
    [("STX", "1250000", "stx-postcondition"), ("sBTC", "1234567", "ft-postcondition")],
    ids=["stx", "sbtc"],
)
def test_a_stacks_wallet_pays_the_checkout(dev_stack, stacks, chromium, screenshot, asset, amount, condition):
    wallet = StacksTestWallet(stacks["api_url"], DEV_WALLET_1_KEY)
    intent = create_stacks_intent(dev_stack, asset=asset, amount=amount)
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    assert "stacks-local" in page.locator("#network").inner_text()
    page.click("#connect")
    wait_state(page, "connected")
    assert wallet.address[:6] in page.locator("#account").inner_text()
    screenshot(page, "connected")
    page.click("#pay")
    wait_state(page, "paid", PAID_TIMEOUT_MS)
    screenshot(page, "paid")
    [request] = wallet.requests
    assert (request["functionName"], request["postConditionMode"]) == ("pay", "deny")
    [post_condition] = request["postConditions"]
    assert (post_condition["type"], post_condition["amount"], post_condition["address"]) == (
        condition,
        amount,
        wallet.address,
    )
    assert len(wallet.sent) == 1
    assert db_status(dev_stack, intent["id"]) == "succeeded"
    assert_signed(
        dev_stack, wait_for_delivery(dev_stack, intent["id"], "payment_intent.succeeded"), intent["id"]
    )


def test_a_refused_stacks_request_can_be_retried(dev_stack, stacks, chromium, screenshot):
    wallet = StacksTestWallet(stacks["api_url"], DEV_WALLET_1_KEY, reject={"stx_callContract"})
    intent = create_stacks_intent(dev_stack, amount="1000")
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    page.click("#connect")
    wait_state(page, "connected")
    page.click("#pay")
    wait_state(page, "rejected")
    screenshot(page, "rejected")
    assert wallet.sent == [] and db_status(dev_stack, intent["id"]) == "requires_payment"
    wallet.reject = set()
    page.click("#retry")
    wait_state(page, "connected")
    page.click("#pay")
    wait_state(page, "paid", PAID_TIMEOUT_MS)


def test_without_a_stacks_wallet_the_page_says_so(dev_stack, stacks, chromium):
    intent = create_stacks_intent(dev_stack, amount="1000")
    page = open_checkout(chromium, None, intent["checkout_url"])
    page.click("#connect")
    page.wait_for_function("document.getElementById('status-title').textContent.includes('No Stacks wallet')")
