"""The API driven by its own /openapi.json (schemathesis): no 5xx on any input, and no answer that
contradicts the document (status code, content type, headers, body schema; schema-invalid requests
refused with a 4xx).

The real app, served by uvicorn on 127.0.0.1 over real HTTP, on the test PostgreSQL, with a merchant
that has an intent, a webhook endpoint and audit rows to find. Every operation is fuzzed with a secret,
a publishable and no key. `make test` runs FUZZ_EXAMPLES examples per operation and key; the slow
run (`make test-slow`) FUZZ_EXAMPLES_SLOW.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from sluice.config import to_asyncpg_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode

from databases import truncate_all
from intents_fixtures import auth, make_registry, make_settings
from servers import serve

pytestmark = pytest.mark.db

FUZZ_EXAMPLES = 6
FUZZ_EXAMPLES_SLOW = 150
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
#: What was sent, by (method path, key kind) and by status: the figures quoted in the docs.
SENT: Counter[tuple[str, str]] = Counter()
STATUSES: Counter[int] = Counter()


@dataclass(frozen=True)
class Served:
    url: str
    keys: dict[str, str | None]


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[Served]:
    """The app under uvicorn in a thread of its own (its own event loop), on a free port."""
    settings_ = make_settings(
        database_url,
        rate_limit_per_second=1e6,
        rate_limit_burst=10**6,
        auth_failures_per_second=1e6,
        auth_failure_burst=10**6,
    )
    app = create_app(settings_, database_url=to_asyncpg_url(database_url), registry=make_registry())
    with serve(app) as url:
        yield from _seeded(url, database_url)


def _seeded(url: str, database_url: str) -> Iterator[Served]:
    async def seed() -> dict[str, str | None]:
        engine = make_engine(to_asyncpg_url(database_url), pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                merchant = await merchant_service.create(session, "Fuzz", "0x" + "ab" * 20)
                secret = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, Mode.test)
                public = await merchant_service.issue_key(
                    session, merchant.id, ApiKeyKind.publishable, Mode.test
                )
        finally:
            await engine.dispose()
        return {"secret": secret.secret, "publishable": public.secret, "none": None}

    keys = asyncio.run(seed())
    # Something to find: an intent, a webhook endpoint, and the audit rows of both.
    secret = auth(str(keys["secret"]))
    created = httpx.post(
        f"{url}/v1/payment_intents",
        json={"network": "local", "asset": "USDC", "amount": "1000"},
        headers=secret,
    )
    assert created.status_code == 200, created.text
    hook = httpx.post(
        f"{url}/v1/webhook_endpoints",
        json={"url": "https://93.184.216.34/hooks", "enabled_events": ["*"]},
        headers=secret,
    )
    assert hook.status_code == 200, hook.text
    try:
        yield Served(url, keys)
    finally:
        truncate_all(database_url)
        operations = {operation for operation, _ in SENT}
        print(  # noqa: T201 - the figures for docs/api.md, shown with -s
            f"\nopenapi fuzz: {len(operations)} operations, {sum(SENT.values())} requests, "
            f"statuses {dict(sorted(STATUSES.items()))}"
        )


@pytest.fixture(scope="module")
def api_schema(served: Served) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{served.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


#: The long run leaves out negative_data_rejection: with thousands of examples schemathesis 4.32 turns
#: a string query parameter into `[false]` or `false`, sends it as `action=false` (a valid string on
#: the wire) and reports it accepted. Found twice, both that false positive; the two real finds of
#: this check (`types[]=false` and a repeated `object_id`, both accepted) are fixed and tested.
LONG_RUN_CHECKS = [check for check in CHECKS if check is not negative_data_rejection]


def _fuzz(case: schemathesis.Case, served: Served, key: str, checks: list = CHECKS) -> None:
    value = served.keys[key]
    headers = auth(value) if value else {}
    response = case.call_and_validate(headers=headers, checks=checks, timeout=30)
    SENT[(case.operation.label, key)] += 1
    STATUSES[response.status_code] += 1


FAST = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
)
SLOW = settings(
    max_examples=FUZZ_EXAMPLES_SLOW, deadline=None, suppress_health_check=list(HealthCheck), database=None
)


@schema.parametrize()
@FAST
def test_every_operation_answers_as_documented_with_a_secret_key(
    case: schemathesis.Case, served: Served
) -> None:
    _fuzz(case, served, "secret")


@schema.parametrize()
@FAST
def test_every_operation_answers_as_documented_with_a_publishable_key(
    case: schemathesis.Case, served: Served
) -> None:
    _fuzz(case, served, "publishable")


@schema.parametrize()
@FAST
def test_every_operation_answers_as_documented_without_a_key(case: schemathesis.Case, served: Served) -> None:
    _fuzz(case, served, "none")


@pytest.mark.slow
@schema.parametrize()
@SLOW
def test_every_operation_answers_as_documented_long_run(case: schemathesis.Case, served: Served) -> None:
    for key in ("secret", "publishable", "none"):
        _fuzz(case, served, key, LONG_RUN_CHECKS)
