import pytest

pytestmark = pytest.mark.db


async def test_health_and_ready(client):
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["database"] == "up"


async def test_every_response_has_a_request_id(client):
    first = await client.get("/health")
    second = await client.get("/health")
    assert first.headers["Request-Id"].startswith("req_")
    assert first.headers["Request-Id"] != second.headers["Request-Id"]


async def test_unknown_route_is_a_structured_404(client):
    response = await client.get("/v1/nothing_here")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["code"] == "resource_missing"


async def test_openapi_is_served(client):
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "Sluice API"
