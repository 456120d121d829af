"""Signing in: sessions in Secure/HttpOnly/SameSite cookies, throttling and lock-out, TOTP with
recovery codes, password reset links."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from dashboard_support import PASSWORD, csrf_of, make_user, page_csrf, sign_in
from sqlalchemy import func, select

from sluice.models.audit import AuditLog
from sluice.models.users import DashboardSession, LoginAttempt, User

pytestmark = pytest.mark.db


async def test_login_sets_a_secure_httponly_samesite_session_cookie(browser, sessions, merchant):
    person = await make_user(sessions, "owner@example.com", merchant.id)
    response = await sign_in(browser, person)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("sluice_session="))
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"secure", "httponly", "samesite", "path"} <= attributes
    assert "samesite=lax" in cookie.lower()
    page = await browser.get("/dashboard")
    assert page.status_code == 200
    assert "owner@example.com" in page.text
    async with sessions() as session:
        stored = (await session.execute(select(DashboardSession))).scalars().all()
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(stored) == 1 and stored[0].id != token  # only the hash is stored


async def test_pages_redirect_to_login_without_a_session(client):
    response = await client.get("/dashboard/payments")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/dashboard/login?next=/dashboard/payments")


async def test_wrong_password_is_refused_and_counted(browser, sessions, merchant):
    person = await make_user(sessions, "a@example.com", merchant.id)
    response = await sign_in(browser, person, "wrong password!")
    assert response.status_code == 401
    assert "wrong email or password" in response.text
    async with sessions() as session:
        user = await session.get(User, person.id)
        assert user is not None and user.failed_logins == 1
        assert await session.scalar(select(func.count()).select_from(LoginAttempt)) == 1
    assert (await browser.get("/dashboard")).status_code == 303


async def test_account_locks_after_five_failures_even_for_the_right_password(browser, sessions, merchant):
    person = await make_user(sessions, "lock@example.com", merchant.id)
    for _ in range(5):
        assert (await sign_in(browser, person, "not the password")).status_code == 401
    locked = await sign_in(browser, person)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 800
    assert "locked" in locked.text
    async with sessions() as session:
        user = await session.get(User, person.id)
        assert user is not None and user.locked_until is not None


async def test_login_without_the_csrf_field_is_refused(browser, sessions, merchant):
    person = await make_user(sessions, "c@example.com", merchant.id)
    await browser.get("/dashboard/login")
    response = await browser.post("/dashboard/login", data={"email": person.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "sluice_session" not in browser.cookies


async def test_totp_enrolment_then_login_needs_the_code_once(browser, browser2, sessions, merchant):
    person = await make_user(sessions, "t@example.com", merchant.id)
    await sign_in(browser, person)
    csrf = await page_csrf(browser, "/dashboard/security")
    started = await browser.post("/dashboard/security/totp/start", data={"csrf_token": csrf})
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', started.text).group(1)
    wrong = await browser.post(
        "/dashboard/security/totp/confirm", data={"csrf_token": csrf, "code": "000000"}
    )
    assert wrong.status_code == 400
    confirmed = await browser.post(
        "/dashboard/security/totp/confirm", data={"csrf_token": csrf, "code": pyotp.TOTP(secret).now()}
    )
    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", confirmed.text)
    assert len(codes) == 10
    async with sessions() as session:
        audited = (
            await session.execute(select(AuditLog.action, AuditLog.user_id, AuditLog.merchant_id))
        ).all()
    assert [tuple(a) for a in audited] == [("user.totp_enable", person.id, merchant.id)]

    # A second browser: the password alone leads to the second-factor page, not the dashboard.
    first = await sign_in(browser2, person)
    assert first.headers["location"] == "/dashboard/2fa"
    assert (await browser2.get("/dashboard")).status_code == 303
    two_fa = await browser2.get("/dashboard/2fa")
    bad = await browser2.post("/dashboard/2fa", data={"code": "123456", "csrf_token": csrf_of(two_fa.text)})
    assert bad.status_code == 401
    # The code that enrolled (same time step) is spent; the next step's code works.
    code = pyotp.TOTP(secret).at(time.time() + 30)
    ok = await browser2.post("/dashboard/2fa", data={"code": code, "csrf_token": csrf_of(two_fa.text)})
    assert ok.status_code == 303 and ok.headers["location"] == "/dashboard"
    assert (await browser2.get("/dashboard")).status_code == 200


async def test_a_recovery_code_works_once(browser, sessions, merchant, app):
    from sluice.users.service import user_service

    person = await make_user(sessions, "r@example.com", merchant.id)
    settings = app.state.settings
    async with sessions() as session, session.begin():
        user = await session.get(User, person.id)
        secret = user_service.start_totp(settings, user)
        codes = await user_service.confirm_totp(session, settings, user, pyotp.TOTP(secret).now())
    for expected in (303, 401):
        await browser.post("/dashboard/logout")
        browser.cookies.clear()
        assert (await sign_in(browser, person)).headers["location"] == "/dashboard/2fa"
        page = await browser.get("/dashboard/2fa")
        response = await browser.post(
            "/dashboard/2fa", data={"code": codes[0], "csrf_token": csrf_of(page.text)}
        )
        assert response.status_code == expected


async def test_password_reset_link_works_once_and_signs_out_everywhere(
    browser, browser2, sessions, merchant, mailer
):
    person = await make_user(sessions, "reset@example.com", merchant.id)
    await sign_in(browser2, person)
    page = await browser.get("/dashboard/forgot")
    sent = await browser.post(
        "/dashboard/forgot", data={"email": person.email, "csrf_token": csrf_of(page.text)}
    )
    assert sent.status_code == 200
    unknown = await browser.post(
        "/dashboard/forgot", data={"email": "nobody@example.com", "csrf_token": csrf_of(page.text)}
    )
    assert unknown.text.count("on its way") == 1  # the same answer: no account enumeration
    assert len(mailer.outbox) == 1 and mailer.outbox[0].to == person.email
    link = re.search(r"https://sluice.test(/dashboard/reset\?token=\S+)", mailer.outbox[0].body).group(1)
    form = await browser.get(link)
    token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
    new_password = "a brand new password"
    done = await browser.post(
        "/dashboard/reset", data={"token": token, "password": new_password, "csrf_token": csrf_of(form.text)}
    )
    assert done.status_code == 303
    assert (await browser2.get("/dashboard")).status_code == 303  # the other session is gone
    again = await browser.post(
        "/dashboard/reset",
        data={"token": token, "password": "yet another password", "csrf_token": csrf_of(form.text)},
    )
    assert again.status_code == 400 and "already used" in again.text
    assert (await sign_in(browser, person, new_password)).status_code == 303


async def test_logout_deletes_the_session(browser, sessions, merchant):
    person = await make_user(sessions, "out@example.com", merchant.id)
    await sign_in(browser, person)
    csrf = await page_csrf(browser)
    assert (await browser.post("/dashboard/logout", data={"csrf_token": csrf})).status_code == 303
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DashboardSession)) == 0


async def test_sign_up_is_closed_unless_the_operator_opens_it(browser):
    page = await browser.get("/dashboard/signup")
    assert page.status_code == 403 and 'data-code="signup_disabled"' in page.text
    login = await browser.get("/dashboard/login")
    assert "/dashboard/signup" not in login.text
