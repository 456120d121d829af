"""Every dashboard action is checked on the server against the member's role, carries the session's
CSRF token, and is written to the audit log with the user."""

from __future__ import annotations

import re

import pytest
from dashboard_support import make_user, page_csrf, sign_in
from sqlalchemy import select

from sluice.models.audit import AuditLog
from sluice.models.payment_intent import PaymentIntent
from sluice.models.refund import Refund
from sluice.models.users import Role

from intents_fixtures import auth

pytestmark = pytest.mark.db

BODY = {"network": "local", "asset": "USDC", "amount": "25000000"}


async def new_intent(client, key, **changes) -> str:
    response = await client.post("/v1/payment_intents", json={**BODY, **changes}, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def as_role(browser, sessions, merchant, role: Role):
    person = await make_user(sessions, f"{role.value}@example.com", merchant.id, role)
    assert (await sign_in(browser, person)).status_code == 303
    return person


async def audit_rows(sessions) -> list[AuditLog]:
    async with sessions() as session:
        return list(
            (await session.execute(select(AuditLog).order_by(AuditLog.created_at, AuditLog.id))).scalars()
        )


async def test_an_analysts_forged_refund_cancel_and_capture_are_refused(browser, client, sessions, merchant):
    intent_id = await new_intent(client, merchant.secret, capture_method="manual")
    await as_role(browser, sessions, merchant, Role.analyst)
    page = await browser.get(f"/dashboard/payments/{intent_id}")
    assert page.status_code == 200
    assert "/refund" not in page.text and "/cancel" not in page.text and "/capture" not in page.text
    csrf = await page_csrf(browser, f"/dashboard/payments/{intent_id}")
    for action in ("refund", "cancel", "capture"):
        forged = await browser.post(f"/dashboard/payments/{intent_id}/{action}", data={"csrf_token": csrf})
        assert forged.status_code == 403, action
        assert 'data-code="role_forbidden"' in forged.text
    async with sessions() as session:
        intent = await session.get(PaymentIntent, intent_id)
        assert intent is not None and intent.status == "requires_payment"
        assert (await session.execute(select(Refund))).first() is None
    assert [r.action for r in await audit_rows(sessions)] == ["payment_intent.create"]


async def test_support_reaches_the_refund_service_that_the_api_uses(browser, client, sessions, merchant):
    """Support may refund: the request gets past the role check to RefundService, which refuses an
    automatic payment exactly as POST /v1/refunds does."""
    intent_id = await new_intent(client, merchant.secret)
    api = await client.post("/v1/refunds", json={"payment_intent": intent_id}, headers=auth(merchant.secret))
    await as_role(browser, sessions, merchant, Role.support)
    csrf = await page_csrf(browser, f"/dashboard/payments/{intent_id}")
    response = await browser.post(f"/dashboard/payments/{intent_id}/refund", data={"csrf_token": csrf})
    assert response.status_code == api.status_code == 400
    assert 'data-code="refund_unsupported"' in response.text
    assert api.json()["error"]["code"] == "refund_unsupported"
    # Support may not capture.
    capture = await browser.post(f"/dashboard/payments/{intent_id}/capture", data={"csrf_token": csrf})
    assert capture.status_code == 403


async def test_posts_without_the_csrf_token_or_from_another_origin_are_refused(
    browser, client, sessions, merchant
):
    await as_role(browser, sessions, merchant, Role.owner)
    missing = await browser.post("/dashboard/keys", data={"kind": "secret"})
    assert missing.status_code == 403 and 'data-code="csrf_failed"' in missing.text
    wrong = await browser.post("/dashboard/keys", data={"kind": "secret", "csrf_token": "x" * 43})
    assert wrong.status_code == 403
    csrf = await page_csrf(browser)
    cross = await browser.post(
        "/dashboard/keys",
        data={"kind": "secret", "csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    ok = await browser.post("/dashboard/keys", data={"kind": "secret", "csrf_token": csrf})
    assert ok.status_code == 200 and "sk_test_" in ok.text
    assert [r.action for r in await audit_rows(sessions)] == ["api_key.create"]


@pytest.mark.parametrize(
    ("role", "keys", "audit", "team_manage"),
    [
        (Role.owner, 200, 200, True),
        (Role.admin, 200, 200, True),
        (Role.developer, 200, 403, False),
        (Role.support, 403, 403, False),
        (Role.analyst, 403, 403, False),
    ],
)
async def test_each_role_sees_what_it_may(browser, sessions, merchant, role, keys, audit, team_manage):
    await as_role(browser, sessions, merchant, role)
    for path in (
        "/dashboard",
        "/dashboard/payments",
        "/dashboard/webhooks",
        "/dashboard/reports",
        "/dashboard/team",
    ):
        assert (await browser.get(path)).status_code == 200, path
    assert (await browser.get("/dashboard/keys")).status_code == keys
    assert (await browser.get("/dashboard/audit")).status_code == audit
    team = await browser.get("/dashboard/team")
    assert ("/dashboard/team/invite" in team.text) == team_manage


async def test_key_created_in_the_dashboard_works_once_shown_then_roll_and_revoke(
    browser, client, sessions, merchant
):
    person = await as_role(browser, sessions, merchant, Role.developer)
    csrf = await page_csrf(browser, "/dashboard/keys")
    created = await browser.post("/dashboard/keys", data={"kind": "secret", "csrf_token": csrf})
    import re

    secret = re.search(r'value="(sk_test_[A-Za-z0-9]{32})"', created.text).group(1)
    assert (await client.get("/v1/payment_intents", headers=auth(secret))).status_code == 200
    listing = await browser.get("/dashboard/keys")
    assert secret not in listing.text and secret[:12] in listing.text
    key_id = re.findall(r'data-key="(key_[A-Za-z0-9]+)"', listing.text)[-1]
    rolled = await browser.post(
        f"/dashboard/keys/{key_id}/roll", data={"csrf_token": csrf, "grace_hours": "0"}
    )
    new_secret = re.search(r'value="(sk_test_[A-Za-z0-9]{32})"', rolled.text).group(1)
    assert (await client.get("/v1/payment_intents", headers=auth(new_secret))).status_code == 200
    # The key cache may keep the old key for a few seconds; the database says it is revoked.
    async with sessions() as session:
        from sluice.models.merchant import ApiKey

        old = await session.get(ApiKey, key_id)
        assert old is not None and old.revoked_at is not None
    rows = await audit_rows(sessions)
    assert [(r.action, r.user_id) for r in rows] == [
        ("api_key.create", person.id),
        ("api_key.roll", person.id),
    ]


async def test_another_merchants_payment_is_not_found(browser, client, sessions, merchant, other_merchant):
    theirs = await new_intent(client, other_merchant.secret, capture_method="manual")
    await as_role(browser, sessions, merchant, Role.owner)
    assert (await browser.get(f"/dashboard/payments/{theirs}")).status_code == 404
    csrf = await page_csrf(browser)
    assert (
        await browser.post(f"/dashboard/payments/{theirs}/cancel", data={"csrf_token": csrf})
    ).status_code == 404


async def test_test_and_live_mode_are_never_mixed(browser, client, sessions, merchant):
    test_intent = await new_intent(client, merchant.secret)
    await as_role(browser, sessions, merchant, Role.owner)
    assert test_intent in (await browser.get("/dashboard/payments")).text
    csrf = await page_csrf(browser)
    assert (
        await browser.post("/dashboard/switch", data={"csrf_token": csrf, "mode": "live"})
    ).status_code == 303
    live = await browser.get("/dashboard/payments")
    assert test_intent not in live.text and "Test mode" not in live.text
    assert (await browser.get(f"/dashboard/payments/{test_intent}")).status_code == 404
    keys = await browser.get("/dashboard/keys")
    assert "sk_live_" in keys.text and "sk_test_" not in keys.text


async def test_settings_change_the_payout_address_new_intents_sign(browser, client, sessions, merchant):
    await as_role(browser, sessions, merchant, Role.admin)
    csrf = await page_csrf(browser, "/dashboard/settings")
    bad = await browser.post(
        "/dashboard/settings", data={"csrf_token": csrf, "name": "Acme", "payout_address": "0x" + "aB" * 20}
    )
    assert bad.status_code == 400 and 'data-code="invalid_address"' in bad.text
    new = "0x" + "12" * 20
    saved = await browser.post(
        "/dashboard/settings", data={"csrf_token": csrf, "name": "Acme 2", "payout_address": new}
    )
    assert saved.status_code == 303
    # The key cache may still hold the old terms: the insert's guard notices and the API retries.
    intent = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    assert intent.status_code == 200, intent.text
    async with sessions() as session:
        stored = await session.get(PaymentIntent, intent.json()["id"])
        assert stored is not None and stored.payout_address == new
    assert [r.action for r in await audit_rows(sessions)][-2:] == ["account.update", "payment_intent.create"]


async def test_analysts_cannot_change_settings(browser, sessions, merchant):
    await as_role(browser, sessions, merchant, Role.analyst)
    page = await browser.get("/dashboard/settings")
    assert page.status_code == 200 and 'action="/dashboard/settings"' not in page.text
    csrf = await page_csrf(browser, "/dashboard/settings")
    forged = await browser.post("/dashboard/settings", data={"csrf_token": csrf, "name": "Hacked"})
    assert forged.status_code == 403


async def test_webhook_page_shows_each_delivery_with_its_request_body(browser, sessions, merchant, app):
    async def public_resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    app.state.webhook_resolver = public_resolver
    await as_role(browser, sessions, merchant, Role.developer)
    csrf = await page_csrf(browser, "/dashboard/webhooks")
    created = await browser.post(
        "/dashboard/webhooks", data={"csrf_token": csrf, "url": "https://hooks.example.com/in", "events": "*"}
    )
    assert created.status_code == 200 and "whsec_" in created.text
    endpoint_id = re.search(r"/dashboard/webhooks/(we_[A-Za-z0-9]+)", created.text).group(1)
    tested = await browser.post(f"/dashboard/webhooks/{endpoint_id}/test", data={"csrf_token": csrf})
    assert tested.status_code == 303
    page = await browser.get(f"/dashboard/webhooks/{endpoint_id}")
    event_id = re.search(r'name="event" value="(evt_[A-Za-z0-9]+)"', page.text).group(1)
    assert "Request body" in page.text and f"&#34;id&#34;: &#34;{event_id}&#34;" in page.text
    assert "webhook_endpoint.test" in page.text
    async with sessions() as session:
        actions = [
            a
            for a in (
                await session.execute(select(AuditLog.action).order_by(AuditLog.created_at, AuditLog.id))
            ).scalars()
        ]
    assert actions == ["webhook_endpoint.create", "webhook_endpoint.test"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_branding_reaches_the_hosted_checkout(browser, client, sessions, merchant):
    await as_role(browser, sessions, merchant, Role.owner)
    csrf = await page_csrf(browser, "/dashboard/settings")
    light = await browser.post(
        "/dashboard/settings/branding",
        data={"csrf_token": csrf, "use_color": "yes", "brand_color": "#ffee00"},
    )
    assert light.status_code == 400 and 'data-code="color_contrast"' in light.text
    svg = await browser.post(
        "/dashboard/settings/branding",
        data={"csrf_token": csrf},
        files={"logo": ("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml")},
    )
    assert svg.status_code == 400 and 'data-code="logo_type"' in svg.text
    saved = await browser.post(
        "/dashboard/settings/branding",
        data={"csrf_token": csrf, "use_color": "yes", "brand_color": "#7A1F5C"},
        files={"logo": ("logo.png", PNG, "image/png")},
    )
    assert saved.status_code == 303
    created = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    checkout = await client.get(created.json()["checkout_url"].replace("http://127.0.0.1:8000", ""))
    assert checkout.status_code == 200
    assert (
        f'href="/brand/{merchant.id}.css"' in checkout.text
        and f'src="/brand/{merchant.id}/logo"' in checkout.text
    )
    css = await client.get(f"/brand/{merchant.id}.css")
    assert css.headers["content-type"].startswith("text/css") and "--accent: #7a1f5c" in css.text
    logo = await client.get(f"/brand/{merchant.id}/logo")
    assert logo.content == PNG and logo.headers["content-type"] == "image/png"
    removed = await browser.post(
        "/dashboard/settings/branding", data={"csrf_token": csrf, "remove_logo": "yes"}
    )
    assert removed.status_code == 303
    assert (await client.get(f"/brand/{merchant.id}/logo")).status_code == 404
    assert "no branding" in (await client.get(f"/brand/{merchant.id}.css")).text
