"""The hosted checkout in headless Chromium with a wallet backed by a funded anvil account: approve +
pay, permit + pay, USDT and native ETH reach "paid", the indexer marks the intent succeeded, and the
demo shop's receiver gets a correctly signed `payment_intent.succeeded`. Also the states a payer must
understand: expired, rejected in the wallet, wrong network, insufficient balance, canceled."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import psycopg
import pytest
from browser_wallet import BrowserWallet
from standardwebhooks.webhooks import Webhook

from chains import ANVIL_KEYS

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.chain]

#: Generous bounds: the page reaches "paid" once the indexer and the worker have done their part.
PAID_TIMEOUT_MS = 60_000
WEBHOOK_TIMEOUT_S = 30


def create_intent(stack: dict[str, Any], **body: Any) -> dict[str, Any]:
    payload = {"network": "local", "asset": "USDC", "amount": "25000000", **body}
    response = httpx.post(
        f"{stack['api_url']}/v1/payment_intents",
        json=payload,
        headers={"Authorization": f"Bearer {stack['secret_key']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def db_status(stack: dict[str, Any], intent_id: str) -> str:
    with psycopg.connect(stack["database_url"]) as conn:
        row = conn.execute("SELECT status FROM payment_intents WHERE id = %s", (intent_id,)).fetchone()
    assert row is not None
    return str(row[0])


def wait_for_delivery(stack: dict[str, Any], intent_id: str, event_type: str) -> dict[str, Any]:
    """The demo receiver's record of `event_type` for the intent (it only records verified ones)."""
    deadline = time.monotonic() + WEBHOOK_TIMEOUT_S
    while time.monotonic() < deadline:
        delivery = stack["demo"].delivered(intent_id, event_type)
        if delivery is not None:
            return dict(delivery)
        time.sleep(0.2)
    raise AssertionError(f"no verified {event_type} webhook for {intent_id} within {WEBHOOK_TIMEOUT_S} s")


def assert_signed(stack: dict[str, Any], delivery: dict[str, Any], intent_id: str) -> None:
    """Checks the delivery again with the reference verifier, and that it is about this intent."""
    payload = Webhook(stack["webhook_secret"]).verify(delivery["body"], delivery["headers"])
    assert payload["type"] == "payment_intent.succeeded"
    assert payload["data"]["object"]["id"] == intent_id
    assert payload["data"]["object"]["status"] == "succeeded"
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(stack["webhook_secret"]).verify(
            delivery["body"].replace(intent_id, "pi_forged"), delivery["headers"]
        )


def open_checkout(chromium: Any, wallet: BrowserWallet | None, url: str, **context: Any) -> Any:
    page = chromium.new_context(**context).new_page()
    if wallet is not None:
        wallet.install(page)
    page.goto(url)
    return page


def state(page: Any) -> str:
    return str(page.locator("#checkout").get_attribute("data-state"))


def wait_state(page: Any, name: str, timeout: int = 20_000) -> None:
    page.wait_for_selector(f'#checkout[data-state="{name}"]', timeout=timeout)


def pay_and_expect_paid(page: Any, button: str = "#pay") -> None:
    page.click("#connect")
    wait_state(page, "connected")
    page.click(button)
    wait_state(page, "paid", PAID_TIMEOUT_MS)


def payer(stack: dict[str, Any], index: int) -> BrowserWallet:
    return BrowserWallet(stack["rpc_url"], ANVIL_KEYS[index])


def test_usdc_approve_and_pay_from_the_demo_shop_to_fulfilment(dev_stack, chromium, screenshot):
    wallet = payer(dev_stack, 1)
    page = open_checkout(chromium, wallet, dev_stack["demo_url"])
    screenshot(page, "shop")
    page.check("input[value=tshirt]")
    page.select_option("#asset", "USDC")
    page.click("#buy")
    page.wait_for_url("**/pay/pi_*")
    assert page.locator("#fiat").inner_text().startswith("≈ 25.00 USD")
    assert page.locator("#merchant").inner_text() == "Sluice Demo Shop"
    screenshot(page, "checkout")
    pay_and_expect_paid(page)
    screenshot(page, "paid")
    assert wallet.calls.count("eth_sendTransaction") == 2  # approve, then pay
    intent_id = page.url.split("/pay/")[1].split("?")[0]
    assert db_status(dev_stack, intent_id) == "succeeded"
    delivery = wait_for_delivery(dev_stack, intent_id, "payment_intent.succeeded")
    assert_signed(dev_stack, delivery, intent_id)

    page.click("#return")
    page.wait_for_selector('#order[data-fulfilled="yes"]', timeout=15_000)
    assert "Fulfilled" in page.locator("#fulfilment").inner_text()
    screenshot(page, "order-fulfilled")


@pytest.mark.parametrize(
    ("asset", "amount", "button", "sends"),
    [
        ("USDT", "7000000", "#pay", 2),  # no-return transfer token: approve + pay
        ("ETH", str(10**16), "#pay", 1),  # native: one pay with value
        ("USDC", "3000000", "#pay-permit", 1),  # EIP-2612 permit signed, then one transaction
    ],
    ids=["usdt", "native-eth", "usdc-permit"],
)
def test_checkout_pays(dev_stack, chromium, screenshot, asset, amount, button, sends):
    wallet = payer(dev_stack, {"USDT": 2, "ETH": 3}.get(asset, 4))
    intent = create_intent(dev_stack, asset=asset, amount=amount)
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    pay_and_expect_paid(page, button)
    screenshot(page, "paid")
    assert wallet.calls.count("eth_sendTransaction") == sends
    if button == "#pay-permit":
        assert "eth_signTypedData_v4" in wallet.calls
    assert db_status(dev_stack, intent["id"]) == "succeeded"
    assert_signed(
        dev_stack, wait_for_delivery(dev_stack, intent["id"], "payment_intent.succeeded"), intent["id"]
    )


def test_processing_counts_confirmations_until_paid(dev_stack, chromium, screenshot):
    wallet = payer(dev_stack, 5)
    wallet.confirm_blocks = 0  # the payment stays at 1 of 2 confirmations until the test mines
    intent = create_intent(dev_stack, asset="ETH", amount=str(10**15))
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    page.click("#connect")
    wait_state(page, "connected")
    page.click("#pay")
    wait_state(page, "processing")
    page.wait_for_function(
        "document.getElementById('status-detail').textContent.includes('1 of 2 confirmations')"
    )
    deadline = time.monotonic() + 20
    while db_status(dev_stack, intent["id"]) != "processing":  # the indexer saw it, unconfirmed
        assert time.monotonic() < deadline, "the intent never became processing"
        time.sleep(0.2)
    assert state(page) == "processing"
    screenshot(page, "processing")
    wallet.mine()
    wait_state(page, "paid", PAID_TIMEOUT_MS)
    assert db_status(dev_stack, intent["id"]) == "succeeded"


def test_rejected_request_shows_rejection_and_can_be_retried(dev_stack, chromium, screenshot):
    wallet = payer(dev_stack, 5)
    wallet.reject = {"eth_sendTransaction"}
    intent = create_intent(dev_stack, asset="ETH", amount=str(10**15))
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    page.click("#connect")
    wait_state(page, "connected")
    page.click("#pay")
    wait_state(page, "rejected")
    assert "rejected" in page.locator("#status-title").inner_text().lower()
    assert page.locator("#retry").is_visible()
    screenshot(page, "rejected")
    assert wallet.sent == []
    assert db_status(dev_stack, intent["id"]) == "requires_payment"

    wallet.reject = set()
    page.click("#retry")
    wait_state(page, "connected")
    page.click("#pay")
    wait_state(page, "paid", PAID_TIMEOUT_MS)


def test_wrong_network_asks_the_wallet_to_switch(dev_stack, chromium, screenshot):
    wallet = payer(dev_stack, 5)
    wallet.chain_id = 1
    intent = create_intent(dev_stack)
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    page.click("#connect")
    wait_state(page, "wrong-network")
    assert "Wrong network" in page.locator("#status-title").inner_text()
    assert not page.locator("#pay").is_visible()
    screenshot(page, "wrong-network")
    page.click("#switch")
    wait_state(page, "connected")
    assert "wallet_switchEthereumChain" in wallet.calls
    assert wallet.chain_id == 31337
    screenshot(page, "switched")


MINT_ABI = [
    {
        "type": "function",
        "name": "mint",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [],
        "stateMutability": "nonpayable",
    }
]

OTHER_WALLET = """
(() => {
  const refuse = async () => { throw Object.assign(new Error("nope"), { code: 4001 }); };
  const provider = { request: refuse, on() {} };
  const uuid = "0b7e6c1e-0000-4000-8000-000000000002";
  const info = { uuid, name: "Other Wallet", icon: "", rdns: "x.other" };
  const detail = Object.freeze({ info: Object.freeze(info), provider });
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
})();
"""


def test_several_wallets_are_offered_by_name(dev_stack, chromium, screenshot):
    wallet = payer(dev_stack, 5)
    intent = create_intent(dev_stack)
    page = chromium.new_context().new_page()
    wallet.install(page)
    page.add_init_script(OTHER_WALLET)
    page.goto(intent["checkout_url"])
    buttons = page.locator("#wallets button")
    buttons.first.wait_for()
    assert sorted(buttons.all_inner_texts()) == ["Connect Other Wallet", "Connect Sluice Test Wallet"]
    assert not page.locator("#connect").is_visible()
    screenshot(page, "wallets")
    page.click("text=Connect Sluice Test Wallet")
    wait_state(page, "connected")
    assert "Sluice Test Wallet" in page.locator("#account").inner_text()


def test_insufficient_balance_is_explained(dev_stack, chromium, screenshot):
    wallet = BrowserWallet(dev_stack["rpc_url"], "0x" + "42" * 32)  # holds nothing
    intent = create_intent(dev_stack)
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    page.click("#connect")
    wait_state(page, "connected")
    page.click("#pay")
    wait_state(page, "insufficient")
    assert "Insufficient balance" in page.locator("#status-title").inner_text()
    screenshot(page, "insufficient")
    assert wallet.sent == []


def test_permit_on_a_token_without_permit_points_to_approve(dev_stack, chromium, screenshot):
    wallet = payer(dev_stack, 5)
    intent = create_intent(dev_stack, asset="USDT", amount="1000000")
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    page.click("#connect")
    wait_state(page, "connected")
    page.click("#pay-permit")
    wait_state(page, "error")
    assert "Approve and pay" in page.locator("#status-title").inner_text()
    assert "does not support EIP-2612" in page.locator("#status-detail").inner_text()
    screenshot(page, "no-permit")
    assert "eth_signTypedData_v4" not in wallet.calls
    page.click("#retry")
    wait_state(page, "connected")
    assert not page.locator("#pay-permit").is_visible()  # only the approve path is offered now


def test_expired_intent_shows_expired_and_offers_no_payment(dev_stack, chromium, screenshot):
    intent = create_intent(dev_stack)
    with psycopg.connect(dev_stack["database_url"]) as conn:
        conn.execute(
            "UPDATE payment_intents SET expires_at = now() - interval '1 second' WHERE id = %s",
            (intent["id"],),
        )
    page = open_checkout(chromium, payer(dev_stack, 5), intent["checkout_url"])
    wait_state(page, "expired")
    assert "expired" in page.locator("#status-title").inner_text()
    assert not page.locator("#connect").is_visible()
    assert not page.locator("#pay").is_visible()
    screenshot(page, "expired")


def test_canceled_intent_turns_the_open_page_to_canceled(dev_stack, chromium, screenshot):
    intent = create_intent(dev_stack)
    page = open_checkout(chromium, payer(dev_stack, 5), intent["checkout_url"])
    wait_state(page, "ready")
    response = httpx.post(
        f"{dev_stack['api_url']}/v1/payment_intents/{intent['id']}/cancel",
        headers={"Authorization": f"Bearer {dev_stack['secret_key']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    wait_state(page, "canceled")  # pushed over the event stream
    screenshot(page, "canceled")


def test_phone_sized_page_works_with_the_keyboard(dev_stack, chromium, screenshot):
    wallet = payer(dev_stack, 5)
    intent = create_intent(dev_stack, asset="ETH", amount=str(10**15))
    page = open_checkout(
        chromium, wallet, intent["checkout_url"], viewport={"width": 375, "height": 740}, is_mobile=True
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, "no horizontal scrolling on a phone"
    for _ in range(10):  # Tab to the connect button, press Enter
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "connect":
            break
    page.keyboard.press("Enter")
    wait_state(page, "connected")
    assert page.evaluate("document.activeElement.id") == "pay"  # focus moves to the next action
    page.keyboard.press("Enter")
    wait_state(page, "paid", PAID_TIMEOUT_MS)
    screenshot(page, "phone-paid")
    data = json.loads(page.locator("#checkout-data").inner_text())
    assert data["id"] == intent["id"]


def test_deposit_tab_shows_address_amount_qr_and_live_progress(dev_stack, chromium, screenshot):
    """A payer with no dapp wallet: the "send from any wallet or exchange" tab shows the network
    warning, the address and amount with copy buttons and the QR; plain ERC-20 transfers from an
    anvil account (no browser wallet involved) move the page live, partial payment first."""
    from web3 import Web3

    intent = create_intent(dev_stack, asset="USDT", payment_method_types=["contract_call", "deposit_address"])
    deposit = intent["deposit"]
    page = open_checkout(chromium, None, intent["checkout_url"])
    page.click("#tab-deposit")
    assert page.locator("#pay-deposit").is_visible() and not page.locator("#pay-wallet").is_visible()
    assert page.locator("#deposit-address").inner_text() == deposit["address"]
    assert page.locator("#deposit-amount").inner_text() == "25"
    assert "Send only USDT on local" in page.locator("#deposit-warning").inner_text()
    assert page.locator("#pay-deposit .qr-code svg").count() == 1
    assert page.locator("#pay-deposit button.copy").count() == 2
    assert page.locator("#deposit-progress").inner_text() == "Nothing received yet."
    screenshot(page, "deposit-tab")

    w3 = Web3(Web3.HTTPProvider(dev_stack["rpc_url"]))
    sender = w3.eth.account.from_key(ANVIL_KEYS[3])
    manifest_tokens = {t.get("symbol", s): t for s, t in dev_stack.get("tokens", {}).items()}
    usdt = intent["deposit"]["token"] or manifest_tokens["USDT"]["address"]
    abi = [
        {
            "name": "transfer",
            "type": "function",
            "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
            "outputs": [{"name": "", "type": "bool"}],
            "stateMutability": "nonpayable",
        }
    ]
    token = w3.eth.contract(address=usdt, abi=abi)

    def send(amount: int) -> None:
        tx = token.functions.transfer(deposit["address"], amount).build_transaction(
            {"from": sender.address, "nonce": w3.eth.get_transaction_count(sender.address)}
        )
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        )
        assert receipt["status"] == 1
        w3.provider.make_request("anvil_mine", ["0x2"])  # the confirmations the stack asks for

    send(20_000_000)
    # A selector, not wait_for_function: the page's CSP forbids the eval that would need.
    page.wait_for_selector("#deposit-progress:has-text('send 5 more')", timeout=PAID_TIMEOUT_MS)
    assert page.locator("#deposit-progress").inner_text() == "Received 20 of 25 USDT, send 5 more."
    assert page.locator("#deposit-amount").inner_text() == "5"
    screenshot(page, "deposit-partial")
    send(5_000_000)
    wait_state(page, "paid", PAID_TIMEOUT_MS)
    assert db_status(dev_stack, intent["id"]) == "succeeded"
    screenshot(page, "deposit-paid")


@pytest.mark.parametrize(
    ("asset", "index", "sends"),
    [("USDC", 6, 0), ("USDT", 7, 1)],
    ids=["usdc-eip3009", "usdt-permit2-after-one-approval"],
)
def test_pay_without_gas(dev_stack, chromium, screenshot, asset, index, sends):
    """ "Pay without gas": the wallet only signs typed data (USDC: EIP-3009; USDT: Permit2, after the
    one-time approval, the only transaction the payer sends), the gateway's relayer pays the gas, the
    indexer marks the intent succeeded and the merchant gets the webhook."""
    from web3 import Web3

    wallet = payer(dev_stack, index)
    w3 = Web3(Web3.HTTPProvider(dev_stack["rpc_url"]))
    intent = create_intent(dev_stack, asset=asset, amount="2000000")
    token = w3.eth.contract(address=intent["onchain"]["intent"]["token"], abi=MINT_ABI)
    token.functions.mint(wallet.address, 10**8).transact({"from": w3.eth.accounts[0]})
    if sends == 0:  # a payer without any native coin can pay USDC
        w3.provider.make_request("anvil_setBalance", [wallet.address, "0x0"])  # type: ignore[arg-type]
    eth_before = w3.eth.get_balance(wallet.address)
    page = open_checkout(chromium, wallet, intent["checkout_url"])
    page.click("#connect")
    wait_state(page, "connected")
    assert page.locator("#pay-gasless").is_visible()
    screenshot(page, "offered")
    page.click("#pay-gasless")
    wait_state(page, "processing")  # relayed and mined; the second confirmation is the next block
    wallet.mine()
    wait_state(page, "paid", PAID_TIMEOUT_MS)
    screenshot(page, "paid")

    assert wallet.calls.count("eth_signTypedData_v4") == 1
    assert wallet.calls.count("eth_sendTransaction") == sends
    if sends == 0:
        assert w3.eth.get_balance(wallet.address) == eth_before == 0
    assert db_status(dev_stack, intent["id"]) == "succeeded"
    assert_signed(
        dev_stack, wait_for_delivery(dev_stack, intent["id"], "payment_intent.succeeded"), intent["id"]
    )
