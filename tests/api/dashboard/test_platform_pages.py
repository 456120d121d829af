"""The operator's dashboard pages: only platform admins; accounts, fee bounds, suspension."""

from __future__ import annotations

import pytest
from dashboard_support import PASSWORD, Person, page_csrf, sign_in
from sqlalchemy import select

from sluice.models.audit import AuditLog
from sluice.models.merchant import Merchant, MerchantStatus
from sluice.users.service import user_service

pytestmark = pytest.mark.db


async def operator(sessions) -> Person:
    async with sessions() as session, session.begin():
        user = await user_service.create(session, "ops@example.com", PASSWORD, platform_admin=True)
    return Person(user.id, user.email)


async def test_the_operator_lands_on_the_platform_page_and_manages_accounts(browser, sessions, merchant):
    person = await operator(sessions)
    signed_in = await sign_in(browser, person)
    assert signed_in.headers["location"] == "/dashboard/platform"
    page = await browser.get("/dashboard/platform")
    assert page.status_code == 200 and merchant.id in page.text
    csrf = await page_csrf(browser, "/dashboard/platform")
    created = await browser.post(
        "/dashboard/platform/accounts", data={"csrf_token": csrf, "name": "Newco", "fee_bps": "250"}
    )
    assert created.status_code == 303
    too_high = await browser.post(
        f"/dashboard/platform/accounts/{merchant.id}/fee", data={"csrf_token": csrf, "fee_bps": "3001"}
    )
    assert too_high.status_code == 400 and 'data-code="fee_too_high"' in too_high.text
    suspended = await browser.post(
        f"/dashboard/platform/accounts/{merchant.id}/suspend", data={"csrf_token": csrf}
    )
    assert suspended.status_code == 303
    async with sessions() as session:
        rows = {m.name: (m.fee_bps, m.status) for m in (await session.execute(select(Merchant))).scalars()}
        audit = (
            await session.execute(
                select(AuditLog.action, AuditLog.user_id).order_by(AuditLog.created_at, AuditLog.id)
            )
        ).all()
    assert rows == {"Acme": (None, MerchantStatus.suspended), "Newco": (250, MerchantStatus.active)}
    assert [tuple(a) for a in audit] == [("account.create", person.id), ("account.suspend", person.id)]


async def test_merchant_owners_cannot_reach_the_platform_pages(browser, sessions, merchant):
    from dashboard_support import make_user

    owner = await make_user(sessions, "owner@example.com", merchant.id)
    await sign_in(browser, owner)
    assert (await browser.get("/dashboard/platform")).status_code == 403
    csrf = await page_csrf(browser)
    forged = await browser.post(
        f"/dashboard/platform/accounts/{merchant.id}/fee", data={"csrf_token": csrf, "fee_bps": "0"}
    )
    assert forged.status_code == 403
    async with sessions() as session:
        assert (await session.get(Merchant, merchant.id)).fee_bps is None
