"""Inputs an outside tester tried (issue 17): no 500 on any of them, and nothing wrong accepted."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from sluice.models.payment_intent import PaymentIntent

from intents_fixtures import auth

pytestmark = pytest.mark.db

BODY = {"network": "local", "asset": "USDC", "amount": "25000000"}
ZERO = "0x" + "00" * 20
LISTS = [
    "/v1/payment_intents",
    "/v1/events",
    "/v1/audit_logs",
    "/v1/reports/payments",
    "/v1/reports/balances",
]


async def count(sessions, model) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


def assert_error(response, status: int, code: str | None = None, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Request-Id"].startswith("req_")
    error = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param"}
    if code is not None:
        assert error["code"] == code
    if param is not None:
        assert error["param"] == param
    return error


# ------------------------------------------------------------------------------- no 500s


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("bound", ["created[gte]", "created[lte]"])
async def test_created_filters_past_the_year_9999_are_a_400(client, merchant, path, bound):
    response = await client.get(path, params={bound: "253402300800"}, headers=auth(merchant.secret))
    assert_error(response, 400, "parameter_invalid", bound)
    last = await client.get(path, params={bound: "253402300799"}, headers=auth(merchant.secret))
    assert last.status_code == 200, last.text


@pytest.mark.parametrize(
    "field",
    [
        {"description": "nul \u0000 here"},
        {"description": "lone \ud800 surrogate"},
        {"metadata": {"order": "a\u0000b"}},
        {"metadata": {"k\udfff": "v"}},
    ],
)
async def test_nul_and_lone_surrogates_in_a_body_are_a_400_and_store_nothing(
    client, merchant, sessions, field
):
    # json.dumps escapes them as \u0000 / \ud800, as any JSON client would send them.
    body = json.dumps({**BODY, **field}).encode()
    response = await client.post(
        "/v1/payment_intents",
        content=body,
        headers={**auth(merchant.secret), "Content-Type": "application/json"},
    )
    error = assert_error(response, 400, "invalid_text")
    assert error["param"].split(".")[0] in ("description", "metadata")
    assert await count(sessions, PaymentIntent) == 0


async def test_a_surrogate_pair_is_ordinary_text(client, merchant):
    body = json.dumps({**BODY, "description": "emoji \U0001f600"}).encode()
    response = await client.post(
        "/v1/payment_intents",
        content=body,
        headers={**auth(merchant.secret), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "emoji \U0001f600"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/payment_intents/pi_%00abc",
        "/v1/payment_intents?starting_after=pi_%00",
        "/v1/payment_intents?status=%00",
        "/v1/events?type=%00",
        "/v1/audit_logs?action=a%00b",
        "/v1/payment_intents?starting_after=%ED%A0%80",
    ],
)
async def test_nul_or_invalid_utf8_in_path_or_query_is_a_400(client, merchant, url):
    response = await client.get(url, headers=auth(merchant.secret))
    assert_error(response, 400, "invalid_text")


async def test_an_unexpected_error_is_a_500_with_request_id_and_the_usual_body(
    client, merchant, app, monkeypatch
):
    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(app.state.intents, "list", broken)
    response = await client.get("/v1/payment_intents", headers=auth(merchant.secret))
    error = assert_error(response, 500, "internal_error")
    assert error["type"] == "api_error" and "boom" not in response.text
    assert response.headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- wrong acceptance at create


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        ({"payer": ZERO}, "payer", "invalid_address"),
        ({"splits": [{"recipient": ZERO, "bps": 100}]}, "splits.0.recipient", "invalid_address"),
        ({"splits": [{"recipient": "0x" + "66" * 20, "bps": 100}] * 5}, "splits", None),
        ({"splits": [{"recipient": "0x" + "66" * 20, "bps": 10_001}]}, "splits.0.bps", None),
        ({"splits": [{"recipient": "0x" + "66" * 20, "bps": 2_901}]}, "splits", "fee_too_high"),
        ({"capture_method": "manual", "amount": str(2**128)}, "amount", "amount_too_large"),
        ({"amount": str(2**256 // 100 + 1)}, "amount", "amount_too_large"),
        ({"price": {"amount": "1e3", "currency": "usd"}, "amount": None}, "price.amount", None),
        ({"price": {"amount": " 1.00", "currency": "usd"}, "amount": None}, "price.amount", None),
        ({"price": {"amount": "1.00 ", "currency": "usd"}, "amount": None}, "price.amount", None),
        ({"price": {"amount": "+1.00", "currency": "usd"}, "amount": None}, "price.amount", None),
        ({"price": {"amount": "1_000", "currency": "usd"}, "amount": None}, "price.amount", None),
        ({"price": {"amount": 10, "currency": "usd"}, "amount": None}, "price.amount", None),
    ],
)
async def test_what_the_contracts_would_refuse_is_refused_at_create(
    client, merchant, sessions, changes, param, code
):
    body = {k: v for k, v in {**BODY, **changes}.items() if v is not None}
    response = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
    assert_error(response, 400, code, param)
    assert await count(sessions, PaymentIntent) == 0


async def test_the_largest_escrow_amount_is_accepted(client, merchant):
    body = {**BODY, "capture_method": "manual", "amount": str(2**128 - 1)}
    response = await client.post("/v1/payment_intents", json=body, headers=auth(merchant.secret))
    assert response.status_code == 200, response.text


async def test_quote_amounts_are_plain_decimals(client, merchant):
    for amount in ("1e3", " 1.00", "1.", ".5", "-1", "NaN"):
        response = await client.get(
            "/v1/quotes",
            params={"network": "local", "asset": "USDC", "amount": amount, "currency": "usd"},
            headers=auth(merchant.secret),
        )
        assert_error(response, 400, param="amount")


# ------------------------------------------------------------------------------ HTTP manners


async def test_405_carries_allow(client, merchant):
    response = await client.delete("/v1/payment_intents", headers=auth(merchant.secret))
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


async def test_oversized_headers_are_refused_with_431(client, merchant):
    response = await client.get(
        "/v1/payment_intents", headers={**auth(merchant.secret), "X-Padding": "a" * 17_000}
    )
    assert_error(response, 431, "request_header_fields_too_large")
    fine = await client.get(
        "/v1/payment_intents", headers={**auth(merchant.secret), "X-Padding": "a" * 8_000}
    )
    assert fine.status_code == 200


@pytest.mark.parametrize("body", [b"{not json", b'{"network": 1}', b""])
async def test_a_write_without_a_valid_key_is_a_401_before_the_body_is_read(client, body):
    for headers in ({}, {"Authorization": "Bearer sk_test_" + "A" * 32}):
        response = await client.post(
            "/v1/payment_intents", content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert_error(response, 401)


async def test_secret_bearing_responses_are_not_cached(client, merchant):
    created = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.secret))
    assert created.json()["client_secret"]
    assert created.headers["Cache-Control"] == "no-store"
    got = await client.get(f"/v1/payment_intents/{created.json()['id']}", headers=auth(merchant.secret))
    assert got.headers["Cache-Control"] == "no-store"


async def test_cors_only_on_publishable_endpoints(client, merchant):
    origin = {"Origin": "https://shop.example"}
    preflight = await client.options(
        "/v1/payment_intents/pi_x/transactions",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    networks = await client.get("/v1/networks", headers={**origin, **auth(merchant.publishable)})
    assert networks.status_code == 200 and networks.headers["Access-Control-Allow-Origin"] == "*"
    # Secret-key endpoints: no CORS headers at all, preflight or not.
    secret_preflight = await client.options(
        "/v1/payment_intents", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in secret_preflight.headers
    listed = await client.get("/v1/payment_intents", headers={**origin, **auth(merchant.secret)})
    assert listed.status_code == 200 and "Access-Control-Allow-Origin" not in listed.headers


async def test_cors_origins_are_configurable(db_url, merchant):
    import httpx

    from api.app import create_app
    from sluice.config import to_asyncpg_url

    from intents_fixtures import make_registry, make_settings

    app = create_app(
        make_settings(db_url, cors_origins=["https://shop.example"]),
        database_url=to_asyncpg_url(db_url),
        registry=make_registry(),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sluice.test") as c:
            ok = await c.get(
                "/v1/networks", headers={"Origin": "https://shop.example", **auth(merchant.publishable)}
            )
            assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
            assert "Origin" in ok.headers["Vary"]
            other = await c.get(
                "/v1/networks", headers={"Origin": "https://evil.example", **auth(merchant.publishable)}
            )
            assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers


async def test_invalid_keys_are_throttled_per_client_address(db_url):
    import httpx

    from api.app import create_app
    from sluice.config import to_asyncpg_url

    from intents_fixtures import make_registry, make_settings

    app = create_app(
        make_settings(db_url, auth_failure_burst=5, auth_failures_per_second=0.01),
        database_url=to_asyncpg_url(db_url),
        registry=make_registry(),
    )
    async with app.router.lifespan_context(app):
        guesser = httpx.ASGITransport(app=app, client=("192.0.2.7", 1234))
        other = httpx.ASGITransport(app=app, client=("192.0.2.8", 1234))
        async with (
            httpx.AsyncClient(transport=guesser, base_url="http://sluice.test") as c,
            httpx.AsyncClient(transport=other, base_url="http://sluice.test") as d,
        ):
            statuses = [
                (await c.get("/v1/payment_intents", headers=auth(f"sk_test_{i:032d}"))).status_code
                for i in range(8)
            ]
            assert statuses == [401] * 5 + [429] * 3
            limited = await c.get("/v1/payment_intents", headers=auth("sk_test_" + "9" * 32))
            assert_error(limited, 429, "rate_limited")
            assert int(limited.headers["Retry-After"]) >= 1
            # Another address is not affected.
            assert (
                await d.get("/v1/payment_intents", headers=auth("sk_test_" + "1" * 32))
            ).status_code == 401


async def test_idempotency_compares_the_parsed_json(client, merchant):
    headers = {**auth(merchant.secret), "Idempotency-Key": "same-json", "Content-Type": "application/json"}
    first = await client.post("/v1/payment_intents", content=json.dumps(BODY).encode(), headers=headers)
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=2).encode()
    second = await client.post("/v1/payment_intents", content=reordered, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    changed = json.dumps({**BODY, "amount": "25000001"}).encode()
    third = await client.post("/v1/payment_intents", content=changed, headers=headers)
    assert_error(third, 400, "idempotency_key_reused")


async def test_refused_writes_are_audited_with_their_status(client, merchant, other_merchant, sessions):
    theirs = await client.post("/v1/payment_intents", json=BODY, headers=auth(other_merchant.secret))
    intent_id = theirs.json()["id"]
    refused = await client.post(f"/v1/payment_intents/{intent_id}/cancel", headers=auth(merchant.secret))
    assert_error(refused, 404)
    forbidden = await client.post("/v1/payment_intents", json=BODY, headers=auth(merchant.publishable))
    assert_error(forbidden, 403)
    logs = await client.get("/v1/audit_logs", headers=auth(merchant.secret))
    rows = {(row["action"], row["status_code"], row["object_id"]) for row in logs.json()["data"]}
    assert rows == {
        ("POST /v1/payment_intents/{intent_id}/cancel", 404, intent_id),
        ("POST /v1/payment_intents", 403, None),
    }
    assert all(row["request_id"].startswith("req_") for row in logs.json()["data"])


async def test_audit_log_ids_do_not_count(client, merchant, other_merchant):
    for key in (other_merchant.secret, other_merchant.secret, merchant.secret, merchant.secret):
        assert (await client.post("/v1/payment_intents", json=BODY, headers=auth(key))).status_code == 200
    ids = [
        row["id"]
        for row in (await client.get("/v1/audit_logs", headers=auth(merchant.secret))).json()["data"]
    ]
    assert len(ids) == 2
    for public in ids:
        assert public.startswith("al_") and len(public) == 27
        assert not public.removeprefix("al_").isdigit()
    page = await client.get("/v1/audit_logs", params={"limit": 1}, headers=auth(merchant.secret))
    after = await client.get(
        "/v1/audit_logs",
        params={"limit": 1, "starting_after": page.json()["data"][0]["id"]},
        headers=auth(merchant.secret),
    )
    assert [r["id"] for r in page.json()["data"] + after.json()["data"]] == ids


def test_sluice_api_does_not_let_uvicorn_trust_forwarding_headers(monkeypatch):
    # uvicorn's default takes X-Forwarded-For from a local peer as the client's address; the audit log
    # must record the socket peer unless SLUICE_TRUSTED_PROXY_HOPS says otherwise (api.audit.client_ip).
    import uvicorn
    from typer.testing import CliRunner

    from launcher import cli

    captured: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: captured.update(kwargs))
    result = CliRunner().invoke(cli.app, ["api", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert captured["port"] == 8123 and captured["proxy_headers"] is False


def test_a_500_over_real_http_keeps_the_connection_alive(db_url, monkeypatch):
    # Before, an unexpected error escaped to the server, which sent a bare 500 without Request-Id and
    # closed the connection.
    import asyncio
    import socket

    from api.app import create_app
    from sluice.config import to_asyncpg_url
    from sluice.db.session import make_engine, make_sessionmaker
    from sluice.merchants.service import merchant_service
    from sluice.models.merchant import ApiKeyKind, Mode

    from intents_fixtures import make_registry, make_settings
    from servers import serve

    async def new_key() -> str:
        engine = make_engine(to_asyncpg_url(db_url), pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                merchant = await merchant_service.create(session, "Acme", "0x" + "ab" * 20)
                key = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
        finally:
            await engine.dispose()
        return key.secret

    secret = asyncio.run(new_key())
    app = create_app(make_settings(db_url), database_url=to_asyncpg_url(db_url), registry=make_registry())

    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    with serve(app) as url:
        monkeypatch.setattr(app.state.intents, "list", broken)
        host, port = url.removeprefix("http://").split(":")
        failing = f"GET /v1/payment_intents HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {secret}\r\n\r\n"
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(failing.encode())
            first = _read_response(conn)
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            second = _read_response(conn)
    assert first.startswith(b"HTTP/1.1 500")
    assert b"request-id: req_" in first.lower() and b'"internal_error"' in first
    assert second.startswith(b"HTTP/1.1 200")


def _read_response(conn) -> bytes:
    """One HTTP/1.1 response with a Content-Length; fails if the server closes the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, "the server closed the connection"
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize(
    "query", ["types[]=false", "type=payment_intent.succeded", "type=*", "type=nothing.*"]
)
async def test_an_unknown_event_type_filter_is_a_400_not_an_empty_list(client, merchant, query):
    response = await client.get(f"/v1/events?{query}", headers=auth(merchant.secret))
    assert_error(response, 400, "unknown_event_type", "type")
    fine = await client.get(
        "/v1/events?types[]=refund.*&type=payment_intent.succeeded", headers=auth(merchant.secret)
    )
    assert fine.status_code == 200


async def test_a_scalar_query_parameter_given_twice_is_a_400(client, merchant):
    response = await client.get("/v1/audit_logs?object_id=a&object_id=b", headers=auth(merchant.secret))
    assert_error(response, 400, "parameter_invalid", "object_id")
    listed = await client.get(
        "/v1/events?types[]=refund.*&types[]=payment_intent.*", headers=auth(merchant.secret)
    )
    assert listed.status_code == 200
