"""Throttling by address: failed sign-ins for any email from one address count together."""

from __future__ import annotations

import pytest
from dashboard_support import csrf_of, make_user, sign_in

pytestmark = pytest.mark.db


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"login_max_failures_per_ip": 3}


async def test_an_address_is_throttled_across_emails(browser, sessions, merchant):
    person = await make_user(sessions, "victim@example.com", merchant.id)
    for i in range(3):
        page = await browser.get("/dashboard/login")
        response = await browser.post(
            "/dashboard/login",
            data={"email": f"guess{i}@example.com", "password": "x" * 12, "csrf_token": csrf_of(page.text)},
        )
        assert response.status_code == 401
    assert (await sign_in(browser, person)).status_code == 429
