"""The merchant dashboard in headless Chromium against the whole dev stack (anvil, indexer, worker):
sign-in with TOTP, a capture and a refund that move funds on anvil and fire webhooks, key roll,
webhook redelivery, an analyst's forged refund refused on the server, CSRF-less posts refused, and
every page free of serious or critical axe-core violations, with screenshots at desktop and phone
widths in tests/output/e2e/."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pyotp
import pytest
from browser_wallet import BrowserWallet
from web3 import Web3

from chains import ANVIL_KEYS

pytestmark = [pytest.mark.e2e, pytest.mark.db, pytest.mark.chain]

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
ERC20_BALANCE = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "a", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


def api(
    stack: dict[str, Any], method: str, path: str, key: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or stack['secret_key']}"}
    return httpx.request(method, f"{stack['api_url']}{path}", headers=headers, timeout=60, **kwargs)


def wait_until(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def db_one(stack: dict[str, Any], sql: str, *params: Any) -> Any:
    with psycopg.connect(stack["database_url"]) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    return row


def balance(stack: dict[str, Any], token: str, who: str) -> int:
    w3 = Web3(Web3.HTTPProvider(stack["rpc_url"]))
    contract = w3.eth.contract(address=Web3.to_checksum_address(token), abi=ERC20_BALANCE)
    return int(contract.functions.balanceOf(Web3.to_checksum_address(who)).call())


def funded_escrow(stack: dict[str, Any], wallet: BrowserWallet, amount: int) -> dict[str, Any]:
    """A manual-capture intent whose escrow the payer funded (approve + deposit), confirmed."""
    intent = api(
        stack, "POST", "/v1/payment_intents",
        json={"network": "local", "asset": "USDC", "amount": str(amount), "capture_method": "manual"},
    ).json()  # fmt: skip
    built = api(
        stack, "POST", f"/v1/payment_intents/{intent['id']}/transactions",
        json={"payer": wallet.address, "method": "approve"},
    ).json()  # fmt: skip
    for tx in built["transactions"]:
        wallet._send(tx)
    wait_until(
        lambda: (
            db_one(stack, "SELECT status FROM payment_intents WHERE id = %s", intent["id"])[0]
            == "requires_capture"
        ),
        "the escrow deposit to be confirmed",
    )
    return intent


def make_member(stack: dict[str, Any], email: str, password: str, role: str) -> None:
    """A user of the demo merchant with `role`, through the same services the dashboard uses."""
    from sluice.config import to_asyncpg_url
    from sluice.db.session import make_engine, make_sessionmaker
    from sluice.models.users import Role
    from sluice.users.service import user_service
    from sluice.users.team import team_service

    async def work() -> None:
        engine = make_engine(to_asyncpg_url(stack["database_url"]), pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                user = await user_service.create(session, email, password)
                await team_service.add(session, stack["merchant_id"], user.id, Role(role))
        finally:
            await engine.dispose()

    # playwright's sync API runs an event loop in this thread: the services run in another.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, work()).result()


def login(page: Any, stack: dict[str, Any], email: str, password: str) -> None:
    page.goto(f"{stack['api_url']}/dashboard/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def check_accessibility(page: Any) -> list[str]:
    """Serious and critical axe-core violations of the page (the script from npm, injected)."""
    page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => `${v.id} (${v.impact}): ${v.nodes.map(n => n.target.join(' ')).join(', ')}`);
        }"""
    )
    return found


@pytest.fixture(scope="module")
def owner(dev_stack: dict[str, Any], chromium: Any) -> Any:
    """A browser context of the demo merchant's owner, signed in with TOTP (set up in the browser
    first). `bypass_csp` only so the test can inject axe-core; the pages' own CSP stays on."""
    context = chromium.new_context(bypass_csp=True, viewport=DESKTOP)
    page = context.new_page()
    login(page, dev_stack, dev_stack["dashboard_email"], dev_stack["dashboard_password"])
    page.wait_for_url("**/dashboard")
    page.goto(f"{dev_stack['api_url']}/dashboard/security")
    page.click("text=Set up two-factor authentication")
    secret = page.locator("[data-testid=totp-secret]").inner_text()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("text=Turn on")
    codes = page.locator("[data-testid=recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    page.click("text=Sign out")
    page.wait_for_url("**/dashboard/login")
    login(page, dev_stack, dev_stack["dashboard_email"], dev_stack["dashboard_password"])
    page.wait_for_url("**/dashboard/2fa")
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))  # the enrolment spent this step's code
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    assert "Overview" in page.locator("h1").inner_text()
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


def test_capture_and_refund_move_funds_on_anvil_and_fire_webhooks(dev_stack, owner, screenshot):
    wallet = BrowserWallet(dev_stack["rpc_url"], ANVIL_KEYS[5])
    token = dev_stack["tokens"]["USDC"]["address"]
    intent = funded_escrow(dev_stack, wallet, 25_000_000)
    payout = db_one(dev_stack, "SELECT payout_address FROM payment_intents WHERE id = %s", intent["id"])[0]
    payout_before, payer_before = balance(dev_stack, token, payout), balance(dev_stack, token, wallet.address)

    page = owner
    page.goto(f"{dev_stack['api_url']}/dashboard/payments?q={intent['id']}")
    page.click(f"text={intent['id']}")
    assert page.locator("[data-testid=status]").inner_text() == "requires_capture"
    screenshot(page, "payment-funded")
    page.fill("#capture-amount", "10000000")
    page.click("button:text('Capture')")
    page.wait_for_url("**?done=captured")
    assert page.locator("[data-testid=capturable]").inner_text() == "15 USDC"
    assert balance(dev_stack, token, payout) - payout_before == 9_900_000  # 1% platform fee

    page.click("button:text('Refund')")
    page.wait_for_url("**?done=refunded")
    assert page.locator("[data-testid=status]").inner_text() == "succeeded"
    assert page.locator("[data-testid=refunded]").inner_text() == "15 USDC"
    assert balance(dev_stack, token, wallet.address) - payer_before == 15_000_000
    screenshot(page, "payment-captured-refunded")

    refund_id = db_one(dev_stack, "SELECT id FROM refunds WHERE payment_intent_id = %s", intent["id"])[0]
    demo = dev_stack["demo"]
    wait_until(lambda: demo.delivered(intent["id"], "payment_intent.succeeded"), "payment_intent.succeeded")
    wait_until(lambda: demo.delivered(refund_id, "refund.succeeded"), "refund.succeeded")
    actions = db_one(
        dev_stack,
        "SELECT array_agg(a.action ORDER BY a.created_at, a.id) FROM audit_logs a "
        "JOIN users u ON u.id = a.user_id WHERE a.object_id IN (%s, %s) AND u.email = %s",
        intent["id"], refund_id, dev_stack["dashboard_email"],
    )[0]  # fmt: skip
    assert actions == ["payment_intent.capture", "refund.create"]
    timeline = page.locator("[data-testid=timeline]").inner_text()
    assert "payment_intent.requires_capture" in timeline


def test_key_roll_shows_the_new_key_once_and_the_old_one_stops(dev_stack, owner, screenshot):
    page = owner
    page.goto(f"{dev_stack['api_url']}/dashboard/keys")
    page.select_option("#kind", "secret")
    page.click("button:text('Create key')")
    first = page.locator("[data-testid=secret]").input_value()
    assert re.fullmatch(r"sk_test_[A-Za-z0-9]{32}", first)
    assert api(dev_stack, "GET", "/v1/payment_intents", key=first).status_code == 200
    page.goto(f"{dev_stack['api_url']}/dashboard/keys")
    row = page.locator(f"tr:has(code:text('{first[:12]}'))")
    row.locator("input[name=grace_hours]").fill("0")
    row.locator("button:text('Roll')").click()
    second = page.locator("[data-testid=secret]").input_value()
    assert second != first and second.startswith("sk_test_")
    screenshot(page, "key-rolled")
    assert api(dev_stack, "GET", "/v1/payment_intents", key=second).status_code == 200
    # The API caches a key for a few seconds; then the rolled one is refused.
    wait_until(
        lambda: api(dev_stack, "GET", "/v1/payment_intents", key=first).status_code == 401,
        "the old key to stop",
        20,
    )
    page.goto(f"{dev_stack['api_url']}/dashboard/keys")
    assert second not in page.content()  # shown once


def test_webhook_redeliver_and_test_ping_reach_the_receiver(dev_stack, owner):
    page = owner
    demo = dev_stack["demo"]
    wait_until(lambda: demo.deliveries, "a first delivery to the demo receiver")
    event_id = demo.deliveries[0]["id"]
    before = sum(1 for d in demo.deliveries if d["id"] == event_id)
    page.goto(f"{dev_stack['api_url']}/dashboard/webhooks/{dev_stack['webhook_endpoint_id']}")
    page.click(f"button[aria-label='Redeliver {event_id}']")
    page.wait_for_url("**?done=redelivered")
    wait_until(lambda: sum(1 for d in demo.deliveries if d["id"] == event_id) > before, "the redelivery")
    page.click("button:text('Send test event')")
    page.wait_for_url("**?done=test")
    wait_until(lambda: any(d["type"] == "webhook_endpoint.test" for d in demo.deliveries), "the test ping")


def test_an_analysts_forged_refund_and_csrfless_posts_are_refused(dev_stack, chromium):
    wallet = BrowserWallet(dev_stack["rpc_url"], ANVIL_KEYS[5])
    intent = funded_escrow(dev_stack, wallet, 2_000_000)
    make_member(dev_stack, "analyst@example.com", "analyst password", "analyst")
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    login(page, dev_stack, "analyst@example.com", "analyst password")
    page.wait_for_url("**/dashboard")
    page.goto(f"{dev_stack['api_url']}/dashboard/payments/{intent['id']}")
    assert page.locator("button:text('Refund')").count() == 0
    assert page.locator("button:text('Capture')").count() == 0
    csrf = page.locator("input[name=csrf_token]").first.input_value()
    base = dev_stack["api_url"]
    forged = page.request.post(f"{base}/dashboard/payments/{intent['id']}/refund", form={"csrf_token": csrf})
    assert forged.status == 403 and "role_forbidden" in forged.text()
    no_csrf = page.request.post(f"{base}/dashboard/payments/{intent['id']}/refund", form={})
    assert no_csrf.status == 403 and "csrf_failed" in no_csrf.text()
    status = db_one(
        dev_stack, "SELECT status, amount_refunded FROM payment_intents WHERE id = %s", intent["id"]
    )
    assert tuple(status) == ("requires_capture", 0)
    context.close()


PAGES = [
    "/dashboard", "/dashboard/payments", "/dashboard/webhooks", "/dashboard/keys", "/dashboard/reports",
    "/dashboard/team", "/dashboard/audit", "/dashboard/security", "/dashboard/settings",
    "/dashboard/platform",
]  # fmt: skip


def test_every_page_is_accessible_at_desktop_and_phone_widths(dev_stack, owner, chromium, screenshot):
    page = owner
    intent_id = db_one(dev_stack, "SELECT id FROM payment_intents ORDER BY created_at DESC LIMIT 1")[0]
    pages = {path: path.strip("/").replace("/", "-") for path in PAGES}
    pages[f"/dashboard/payments/{intent_id}"] = "dashboard-payment-detail"
    pages[f"/dashboard/webhooks/{dev_stack['webhook_endpoint_id']}"] = "dashboard-webhook-detail"
    problems: dict[str, list[str]] = {}
    for viewport, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(viewport)
        for path, name in pages.items():
            response = page.goto(f"{dev_stack['api_url']}{path}")
            assert response is not None and response.status == 200, path
            screenshot(page, f"{name}-{label}")
            found = check_accessibility(page)
            if found:
                problems[f"{path} ({label})"] = found
    page.set_viewport_size(DESKTOP)
    anonymous = chromium.new_context(bypass_csp=True, viewport=PHONE).new_page()
    for path in ("/dashboard/login", "/dashboard/forgot", "/dashboard/signup"):
        anonymous.goto(f"{dev_stack['api_url']}{path}")
        screenshot(anonymous, f"{path.strip('/').replace('/', '-')}-phone")
        found = check_accessibility(anonymous)
        if found:
            problems[path] = found
    anonymous.context.close()
    assert problems == {}


def test_sign_up_opens_a_new_account_in_test_mode(dev_stack, chromium, screenshot):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{dev_stack['api_url']}/dashboard/login")
    page.click("text=Create an account")
    page.fill("#business_name", "Browser Bakery")
    page.fill("#email", "baker@example.com")
    page.fill("#password", "a long baker password")
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    assert "Browser Bakery" in page.locator("h1").inner_text()
    assert page.locator(".mode-banner").is_visible()  # a new account starts in test mode
    screenshot(page, "signed-up")
    role = db_one(
        dev_stack,
        "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = %s",
        "baker@example.com",
    )
    assert role == ("owner",)
    context.close()
