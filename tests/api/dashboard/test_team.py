"""Team management: invitations by signed link, role changes, and the owner rules."""

from __future__ import annotations

import re

import pytest
from dashboard_support import csrf_of, make_user, page_csrf, sign_in
from sqlalchemy import select

from sluice.models.audit import AuditLog
from sluice.models.users import Membership, Role

pytestmark = pytest.mark.db


async def test_invited_person_accepts_and_gets_exactly_their_role(
    browser, browser2, sessions, merchant, mailer
):
    owner = await make_user(sessions, "owner@example.com", merchant.id, Role.owner)
    await sign_in(browser, owner)
    csrf = await page_csrf(browser, "/dashboard/team")
    invited = await browser.post(
        "/dashboard/team/invite",
        data={"email": "New.Analyst@Example.com", "role": "analyst", "csrf_token": csrf},
    )
    assert invited.status_code == 303
    assert mailer.outbox[-1].to == "new.analyst@example.com"
    link = re.search(r"https://sluice.test(/dashboard/accept\?token=\S+)", mailer.outbox[-1].body).group(1)
    form = await browser2.get(link)
    token = re.search(r'name="token" value="([^"]+)"', form.text).group(1)
    accepted = await browser2.post(
        "/dashboard/accept",
        data={"token": token, "password": "analyst password", "csrf_token": csrf_of(form.text)},
    )
    assert accepted.status_code == 303
    assert (await browser2.get("/dashboard/keys")).status_code == 403
    assert (await browser2.get("/dashboard/payments")).status_code == 200
    async with sessions() as session:
        rows = (await session.execute(select(AuditLog.action, AuditLog.user_id))).all()
    assert [tuple(r) for r in rows] == [("member.invite", owner.id)]


async def test_admin_cannot_make_or_touch_an_owner(browser, sessions, merchant):
    owner = await make_user(sessions, "owner@example.com", merchant.id, Role.owner)
    admin = await make_user(sessions, "admin@example.com", merchant.id, Role.admin)
    await sign_in(browser, admin)
    csrf = await page_csrf(browser, "/dashboard/team")
    made = await browser.post(
        "/dashboard/team/invite", data={"email": "x@example.com", "role": "owner", "csrf_token": csrf}
    )
    assert made.status_code == 403
    async with sessions() as session:
        owner_membership = (
            await session.execute(select(Membership).where(Membership.user_id == owner.id))
        ).scalar_one()
    demote = await browser.post(
        f"/dashboard/team/{owner_membership.id}/role", data={"role": "analyst", "csrf_token": csrf}
    )
    assert demote.status_code == 403
    remove = await browser.post(f"/dashboard/team/{owner_membership.id}/remove", data={"csrf_token": csrf})
    assert remove.status_code == 403
    async with sessions() as session:
        assert (await session.get(Membership, owner_membership.id)).role == Role.owner


async def test_the_last_owner_cannot_be_demoted(browser, sessions, merchant):
    owner = await make_user(sessions, "solo@example.com", merchant.id, Role.owner)
    await sign_in(browser, owner)
    csrf = await page_csrf(browser, "/dashboard/team")
    async with sessions() as session:
        mine = (await session.execute(select(Membership).where(Membership.user_id == owner.id))).scalar_one()
    response = await browser.post(
        f"/dashboard/team/{mine.id}/role", data={"role": "admin", "csrf_token": csrf}
    )
    assert response.status_code == 400 and 'data-code="last_owner"' in response.text
    second = await make_user(sessions, "second@example.com", merchant.id, Role.owner)
    assert second.id
    response = await browser.post(
        f"/dashboard/team/{mine.id}/role", data={"role": "admin", "csrf_token": csrf}
    )
    assert response.status_code == 303
    async with sessions() as session:
        assert (await session.get(Membership, mine.id)).role == Role.admin


async def test_a_member_of_two_accounts_switches_between_them(browser, sessions, merchant, other_merchant):
    person = await make_user(sessions, "both@example.com", merchant.id, Role.analyst)
    async with sessions() as session, session.begin():
        from sluice.users.team import team_service

        await team_service.add(session, other_merchant.id, person.id, Role.owner)
    await sign_in(browser, person)
    csrf = await page_csrf(browser)
    assert (
        await browser.post("/dashboard/switch", data={"csrf_token": csrf, "account": other_merchant.id})
    ).status_code == 303
    assert (await browser.get("/dashboard/keys")).status_code == 200  # owner there
    assert (
        await browser.post("/dashboard/switch", data={"csrf_token": csrf, "account": merchant.id})
    ).status_code == 303
    assert (await browser.get("/dashboard/keys")).status_code == 403  # analyst here
    stranger = await browser.post("/dashboard/switch", data={"csrf_token": csrf, "account": "acct_notmine"})
    assert stranger.status_code == 404
