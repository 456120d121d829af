"""The Audit dependency: rows written in the endpoint's transaction, with who, what and from where."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import select
from starlette.requests import Request

from api.app import create_app
from api.audit import Audit, client_ip
from api.deps import SecretKey
from sluice.config import Settings, to_asyncpg_url
from sluice.errors import InvalidStateError
from sluice.merchants import keys
from sluice.models.audit import AuditLog
from sluice.models.merchant import ApiKey

PATH = "/v1/_test/widgets"


def router() -> APIRouter:
    widgets = APIRouter()

    @widgets.post("/_test/widgets", status_code=201)
    async def create(principal: SecretKey, audit: Audit) -> dict[str, Any]:
        await audit("widget.create", "wid_1")
        return {"id": "wid_1"}

    @widgets.post("/_test/widgets/wid_1/fail")
    async def fail(principal: SecretKey, audit: Audit) -> dict[str, Any]:
        await audit("widget.update", "wid_1")
        raise InvalidStateError("the widget cannot do that now")

    @widgets.post("/_test/widgets/merge")
    async def merge(principal: SecretKey, audit: Audit) -> dict[str, Any]:
        await audit("widget.merge", "wid_1")
        await audit("widget.delete", "wid_2", status_code=204)
        return {"id": "wid_1"}

    return widgets


async def serve(db_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(
        Settings(env="test", database_url=db_url, **settings), database_url=to_asyncpg_url(db_url)
    )
    app.include_router(router(), prefix="/v1")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sluice.test") as client:
            yield client


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve(db_url):
        yield client


@pytest.fixture
async def behind_one_proxy(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in serve(db_url, trusted_proxy_hops=1):
        yield client


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def audit_rows(sessions: Any) -> list[AuditLog]:
    async with sessions() as session:
        return list((await session.execute(select(AuditLog).order_by(AuditLog.created_at))).scalars())


async def key_id(sessions: Any, secret: str) -> str:
    async with sessions() as session:
        row = (
            await session.execute(select(ApiKey).where(ApiKey.key_hash == keys.hash_key(secret)))
        ).scalar_one()
        return row.id


@pytest.mark.db
async def test_a_row_records_who_did_what_from_where(api, merchant, sessions):
    response = await api.post(PATH, headers=auth(merchant.secret))

    assert response.status_code == 201
    [row] = await audit_rows(sessions)
    assert (row.merchant_id, row.api_key_id) == (merchant.id, await key_id(sessions, merchant.secret))
    assert (row.action, row.object_id, row.status_code) == ("widget.create", "wid_1", 201)
    assert row.ip == "192.0.2.10"
    assert row.request_id == response.headers["Request-Id"]
    assert row.created_at is not None


@pytest.mark.db
async def test_rows_are_rolled_back_with_a_failing_endpoint(api, merchant, sessions):
    response = await api.post(PATH + "/wid_1/fail", headers=auth(merchant.secret))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unexpected_state"
    assert await audit_rows(sessions) == []


@pytest.mark.db
async def test_one_request_may_record_several_actions(api, merchant, sessions):
    response = await api.post(PATH + "/merge", headers=auth(merchant.secret))

    assert response.status_code == 200
    rows = await audit_rows(sessions)
    assert [(r.action, r.object_id, r.status_code) for r in rows] == [
        ("widget.merge", "wid_1", 200),
        ("widget.delete", "wid_2", 204),
    ]
    assert {r.request_id for r in rows} == {response.headers["Request-Id"]}


@pytest.mark.db
async def test_forwarded_for_is_ignored_unless_proxies_are_trusted(api, merchant, sessions):
    await api.post(PATH, headers=auth(merchant.secret) | {"X-Forwarded-For": "203.0.113.7"})

    [row] = await audit_rows(sessions)
    assert row.ip == "192.0.2.10"


@pytest.mark.db
async def test_behind_a_trusted_proxy_the_address_it_saw_is_recorded(behind_one_proxy, merchant, sessions):
    forwarded = {"X-Forwarded-For": "198.51.100.99, 203.0.113.7"}  # the first entry is the caller's claim
    await behind_one_proxy.post(PATH, headers=auth(merchant.secret) | forwarded)

    [row] = await audit_rows(sessions)
    assert row.ip == "203.0.113.7"


@pytest.mark.db
async def test_a_replayed_request_writes_no_second_row(api, merchant, sessions):
    headers = auth(merchant.secret) | {"Idempotency-Key": "create-1"}
    first = await api.post(PATH, headers=headers)
    again = await api.post(PATH, headers=headers)

    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    [row] = await audit_rows(sessions)
    assert row.request_id == first.headers["Request-Id"]


def request(client: tuple[str, int] | None, forwarded: list[str]) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "headers": headers, "client": client})


@pytest.mark.parametrize(
    ("client", "forwarded", "hops", "expected"),
    [
        (("192.0.2.10", 1), [], 0, "192.0.2.10"),
        (("192.0.2.10", 1), ["203.0.113.7"], 0, "192.0.2.10"),
        (("192.0.2.10", 1), ["203.0.113.7"], 1, "203.0.113.7"),
        (("192.0.2.10", 1), ["198.51.100.1, 203.0.113.7", "10.0.0.2"], 2, "203.0.113.7"),
        (("192.0.2.10", 1), ["203.0.113.7"], 2, "192.0.2.10"),
        (("192.0.2.10", 1), ["not-an-address"], 1, "192.0.2.10"),
        (("2001:db8::1", 1), [], 0, "2001:db8::1"),
        (("testclient", 1), [], 0, None),
        (None, [], 0, None),
    ],
)
def test_client_ip(client, forwarded, hops, expected):
    assert client_ip(request(client, forwarded), hops) == expected
