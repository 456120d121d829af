"""The hosted checkout of a Solana intent in headless Chromium, with a Wallet Standard wallet that
signs with a dev keypair of the local cluster: connect, sign and send, "paid" once the indexer saw
the payment finalized, and a signed `payment_intent.succeeded` at the demo receiver. A refusal in
the wallet is explained and can be retried; the page offers the Solana Pay QR code for phones."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx
from solana_wallet import SolanaBrowserWallet
from solders.keypair import Keypair
from test_checkout_browser import (
    PAID_TIMEOUT_MS,
    assert_signed,
    create_intent,
    db_status,
    open_checkout,
    pytestmark,
    wait_for_delivery,
    wait_state,
)

__all__ = ["pytestmark"]


def solana_payer(stack: dict[str, Any], name: str = "payer") -> SolanaBrowserWallet:
    solana = stack["solana"]
    return SolanaBrowserWallet(
        solana["rpc_url"], Keypair.from_base58_string(solana["keypairs"][name]["secret_key"])
    )


def test_solana_usdc_connect_sign_send_until_paid(dev_stack, chromium, screenshot):
    wallet = solana_payer(dev_stack)
    intent = create_intent(dev_stack, network="solana-local", asset="USDC", amount="4200000")
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    wait_state(page, "ready")
    assert "solana-local" in page.locator("#network").inner_text()
    page.click("#connect")
    wait_state(page, "connected")
    assert page.locator("#pay").inner_text() == "Pay 4.2 USDC"
    assert str(wallet.keypair.pubkey())[:6] in page.locator("#account").inner_text()
    page.click("#pay")
    wait_state(page, "paid", PAID_TIMEOUT_MS)
    screenshot(page, "paid")
    assert len(wallet.signatures) == 1
    assert db_status(dev_stack, intent["id"]) == "succeeded"
    assert_signed(
        dev_stack, wait_for_delivery(dev_stack, intent["id"], "payment_intent.succeeded"), intent["id"]
    )


def test_solana_rejection_in_the_wallet_can_be_retried(dev_stack, chromium, screenshot):
    wallet = solana_payer(dev_stack, "payer2")
    wallet.reject = True
    intent = create_intent(dev_stack, network="solana-local", asset="SOL", amount="250000000")
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    page.click("#connect")
    wait_state(page, "connected")
    page.click("#pay")
    wait_state(page, "rejected")
    screenshot(page, "rejected")
    assert wallet.signatures == [] and db_status(dev_stack, intent["id"]) == "requires_payment"
    wallet.reject = False
    page.click("#retry")
    wait_state(page, "connected")
    page.click("#pay")
    wait_state(page, "paid", PAID_TIMEOUT_MS)


def test_solana_pay_qr_links_the_transaction_request(dev_stack, chromium, screenshot):
    intent = create_intent(dev_stack, network="solana-local", asset="USDC", amount="1000000")
    page = open_checkout(chromium, None, intent["checkout_url"])
    page.click("#qr summary")
    assert page.locator("#solana-pay-qr svg").is_visible()
    screenshot(page, "qr")
    link = page.evaluate(
        "JSON.parse(document.getElementById('checkout-data').textContent).solana.transaction_request"
    )
    endpoint = unquote(link.removeprefix("solana:"))
    answer = httpx.get(endpoint, timeout=10)
    assert answer.status_code == 200 and answer.json()["label"]
