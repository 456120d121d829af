"""Self sign-up, when the operator allows it: a merchant account and its first user as owner."""

from __future__ import annotations

import pytest
from dashboard_support import csrf_of
from sqlalchemy import select

from sluice.models.merchant import Merchant
from sluice.models.users import Membership, Role, User

pytestmark = pytest.mark.db


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"dashboard_signup_enabled": True}


async def test_sign_up_creates_the_account_and_its_owner_and_signs_in(browser, sessions):
    page = await browser.get("/dashboard/signup")
    response = await browser.post(
        "/dashboard/signup",
        data={
            "business_name": "Corner Shop",
            "email": "Founder@Corner.example",
            "password": "a good long password",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert response.status_code == 303
    overview = await browser.get("/dashboard")
    assert overview.status_code == 200 and "Corner Shop" in overview.text
    assert (await browser.get("/dashboard/keys")).status_code == 200
    async with sessions() as session:
        row = (
            await session.execute(
                select(User.email, Merchant.name, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .join(Merchant, Merchant.id == Membership.merchant_id)
            )
        ).one()
    assert tuple(row) == ("founder@corner.example", "Corner Shop", Role.owner)


async def test_sign_up_with_a_taken_email_or_short_password_creates_nothing(browser, sessions):
    page = await browser.get("/dashboard/signup")
    csrf = csrf_of(page.text)
    short = await browser.post(
        "/dashboard/signup",
        data={"business_name": "A", "email": "a@example.com", "password": "short", "csrf_token": csrf},
    )
    assert short.status_code == 400 and 'data-code="password_invalid"' in short.text
    first = await browser.post(
        "/dashboard/signup",
        data={
            "business_name": "A",
            "email": "a@example.com",
            "password": "long enough pw",
            "csrf_token": csrf,
        },
    )
    assert first.status_code == 303
    browser.cookies.delete("sluice_session")
    taken = await browser.post(
        "/dashboard/signup",
        data={
            "business_name": "B",
            "email": "A@example.com",
            "password": "long enough pw",
            "csrf_token": csrf,
        },
    )
    assert taken.status_code == 400 and 'data-code="email_taken"' in taken.text
    async with sessions() as session:
        assert (await session.execute(select(Merchant.name))).scalars().all() == ["A"]
