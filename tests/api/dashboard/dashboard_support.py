"""Helpers of the dashboard tests: users with roles, signing in through the real forms, forms' CSRF."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.models.users import Role
from sluice.users.service import user_service
from sluice.users.team import team_service

PASSWORD = "correct horse battery"
DASHBOARD_KEY = "11" * 32
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Person:
    id: str
    email: str
    password: str = PASSWORD


async def make_user(
    sessions: async_sessionmaker[AsyncSession], email: str, merchant_id: str | None, role: Role = Role.owner
) -> Person:
    async with sessions() as session, session.begin():
        user = await user_service.create(session, email, PASSWORD)
        if merchant_id:
            await team_service.add(session, merchant_id, user.id, role)
    return Person(user.id, user.email)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, person: Person, password: str | None = None) -> httpx.Response:
    """Posts the login form as a browser would (CSRF cookie and field from the login page)."""
    page = await client.get("/dashboard/login")
    return await client.post(
        "/dashboard/login",
        data={
            "email": person.email,
            "password": password or person.password,
            "csrf_token": csrf_of(page.text),
        },
    )


async def page_csrf(client: httpx.AsyncClient, path: str = "/dashboard") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)
