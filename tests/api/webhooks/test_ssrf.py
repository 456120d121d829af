"""The SSRF guard: hostile webhook URLs are refused with a clear 400, at creation and at connect
time (a DNS answer that changes after the check cannot reach a private address)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from webhooks_support import add_events, auth

from sluice.models.webhook import WebhookAttempt, WebhookDelivery
from sluice.webhooks.sender import WebhookSender
from sluice.webhooks.service import WebhookEndpointService
from sluice.webhooks.ssrf import check_url, parse_url
from sluice.webhooks.worker import WebhookWorker

pytestmark = pytest.mark.db

PUBLIC = "93.184.216.34"
DNS = {
    "hooks.example.com": [PUBLIC],
    "internal.example.test": ["10.0.0.5"],
    "metadata.example.test": ["169.254.169.254"],
    "loopback.example.test": ["127.0.0.1"],
    "mixed.example.test": [PUBLIC, "127.0.0.1"],
    "v6.example.test": ["::1"],
    "mapped.example.test": ["::ffff:10.0.0.1"],
}


async def fake_resolver(host: str, port: int) -> list[str]:
    if host in DNS:
        return DNS[host]
    raise OSError(f"unknown host {host}")


HOSTILE = [
    "http://127.0.0.1/hooks",
    "http://127.0.0.1:8000/hooks",
    "http://127.1/",
    "http://localhost/",
    "http://[::1]/",
    "http://10.0.0.1/",
    "http://10.255.255.254:8080/x",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/",
    "http://0/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://0x7f.0.0.1/",
    "http://0x7f000001/",
    "http://017700000001/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://198.18.0.1/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[::]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[fe80::1%25eth0]/",
    "http://internal.example.test/",
    "http://metadata.example.test/latest/meta-data/",
    "http://loopback.example.test/",
    "http://mixed.example.test/",
    "http://v6.example.test/",
    "http://mapped.example.test/",
    "http://evil.example.com@127.0.0.1/",
    "http://user:pass@hooks.example.com/",
    # Unicode forms of the same addresses: normalised (IDNA/NFKC) before any check.
    "http://\uff12\uff11\uff13\uff10\uff17\uff10\uff16\uff14\uff13\uff13/h",  # full-width 2130706433
    "http://0177\u30020\u30020\u30021/h",  # ideographic full stops
    "http://\u2460\u2461\u2466.0.0.1/h",  # circled digits: 127.0.0.1
    "http://LOCALHOST/",
    "http://hooks.example.com:0/h",
]


@pytest.fixture
def allow_private() -> bool:
    return False


@pytest.fixture
async def app(app):
    app.state.webhook_resolver = fake_resolver
    return app


async def test_hostile_urls_are_refused_with_a_clear_400(client, merchant):
    assert len(HOSTILE) >= 20
    for url in HOSTILE:
        response = await client.post(
            "/v1/webhook_endpoints", json={"url": url, "enabled_events": ["*"]}, headers=auth(merchant.secret)
        )
        assert response.status_code == 400, (url, response.text)
        error = response.json()["error"]
        assert error["param"] == "url" and error["code"] in ("url_forbidden", "url_invalid"), (url, error)
        assert error["type"] == "invalid_request_error" and error["message"]
    listed = (await client.get("/v1/webhook_endpoints", headers=auth(merchant.secret))).json()
    assert listed["data"] == []


async def test_updating_to_a_hostile_url_is_refused_too(client, merchant):
    created = await client.post(
        "/v1/webhook_endpoints",
        json={"url": "https://hooks.example.com/x", "enabled_events": ["*"]},
        headers=auth(merchant.secret),
    )
    assert created.status_code == 200, created.text
    response = await client.patch(
        f"/v1/webhook_endpoints/{created.json()['id']}",
        json={"url": "http://169.254.169.254/"},
        headers=auth(merchant.secret),
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "url_forbidden"


async def test_public_hosts_are_accepted_and_live_mode_needs_https(client, merchant):
    ok = await client.post(
        "/v1/webhook_endpoints",
        json={"url": "http://hooks.example.com/x", "enabled_events": ["*"]},
        headers=auth(merchant.secret),
    )
    assert ok.status_code == 200, ok.text
    live = await client.post(
        "/v1/webhook_endpoints",
        json={"url": "http://hooks.example.com/x", "enabled_events": ["*"]},
        headers=auth(merchant.live_secret),
    )
    assert live.status_code == 400 and live.json()["error"]["code"] == "url_insecure"
    unresolvable = await client.post(
        "/v1/webhook_endpoints",
        json={"url": "https://nowhere.example.test/x", "enabled_events": ["*"]},
        headers=auth(merchant.secret),
    )
    assert unresolvable.status_code == 400
    assert unresolvable.json()["error"]["code"] == "url_unresolvable"


async def test_other_schemes_are_refused():
    for url in ("ftp://hooks.example.com/", "file:///etc/passwd", "gopher://hooks.example.com/", "//x"):
        with pytest.raises(Exception, match="http"):
            parse_url(url, livemode=False)


async def test_development_setting_allows_local_receivers_but_never_mapped_or_multicast():
    await check_url("http://127.0.0.1:9000/", livemode=False, allow_private=True)
    await check_url("http://10.0.0.1/", livemode=False, allow_private=True)
    for url in ("http://[::ffff:127.0.0.1]/", "http://224.0.0.1/", "http://0.0.0.0/", "http://2130706433/"):
        with pytest.raises(Exception, match="address"):
            await check_url(url, livemode=False, allow_private=True)


async def test_development_setting_treats_every_loopback_form_alike():
    # 127.0.0.1, [::1] and localhost are all loopback: allowed together in development, refused together
    # otherwise (docs/webhooks.md says the same).
    async def loopback(host: str, port: int) -> list[str]:
        assert host == "localhost"
        return ["127.0.0.1", "::1"]

    for url in ("http://127.0.0.1:9000/h", "http://[::1]:9000/h", "http://localhost:9000/h"):
        await check_url(url, livemode=False, allow_private=True, resolver=loopback)
        with pytest.raises(Exception, match="loopback"):
            await check_url(url, livemode=False, allow_private=False, resolver=loopback)
    with pytest.raises(Exception, match="port 0"):
        await check_url("http://127.0.0.1:0/h", livemode=False, allow_private=True, resolver=loopback)


async def test_unicode_hosts_are_stored_and_called_in_their_normalised_form(client, merchant):
    DNS["xn--bcher-kva.example.com"] = [PUBLIC]
    try:
        created = await client.post(
            "/v1/webhook_endpoints",
            json={"url": "https://B\u00fccher.Example.com\u3002/hooks?x=1", "enabled_events": ["*"]},
            headers=auth(merchant.secret),
        )
    finally:
        del DNS["xn--bcher-kva.example.com"]
    assert created.status_code == 200, created.text
    assert created.json()["url"] == "https://xn--bcher-kva.example.com/hooks?x=1"


async def test_dns_rebinding_after_the_check_cannot_reach_a_private_address(
    sessions, merchant, settings, receiver, clock
):
    """The name resolves to a public address when the endpoint is created, then to 127.0.0.1: the
    worker's connection is refused by the guard at connect time, and the receiver sees nothing."""
    answers = iter([[PUBLIC], ["127.0.0.1"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    strict = settings.model_copy(update={"webhook_allow_private": False})
    from sluice.merchants.service import merchant_service

    async with sessions() as s, s.begin():
        principal = await merchant_service.authenticate(s, merchant.secret)
        await WebhookEndpointService(strict, resolver=rebinding).create(
            s, principal, url=f"http://rebind.example.test:{receiver.port}/hooks", enabled_events=["*"]
        )
    await add_events(sessions, merchant.id)
    worker = WebhookWorker(
        sessions, strict, sender=WebhookSender(strict, resolver=rebinding), clock=clock, jitter=lambda: 0.0
    )
    try:
        await worker.fan_out_once()
        assert await worker.deliver_due_once() == 1
    finally:
        await worker.aclose()
    assert receiver.received == []
    async with sessions() as s:
        [attempt] = (await s.execute(select(WebhookAttempt))).scalars()
        assert attempt.status_code is None and "SSRF guard" in (attempt.error or "")
        [delivery] = (await s.execute(select(WebhookDelivery))).scalars()
        assert delivery.status == "pending"  # retried later, in case the name is fixed


async def test_the_connection_goes_to_the_checked_address_with_the_original_host_header(
    sessions, merchant, settings, receiver, clock
):
    """No second lookup: the guard connects to the address it checked (here the only place the
    name resolves is the guard's own resolver)."""
    settings = settings.model_copy(update={"webhook_allow_private": True})

    async def resolver(host: str, port: int) -> list[str]:
        assert host == "pinned.example.test"
        return ["127.0.0.1"]

    from sluice.merchants.service import merchant_service

    async with sessions() as s, s.begin():
        principal = await merchant_service.authenticate(s, merchant.secret)
        await WebhookEndpointService(settings, resolver=resolver).create(
            s, principal, url=f"http://pinned.example.test:{receiver.port}/hooks", enabled_events=["*"]
        )
    await add_events(sessions, merchant.id)
    worker = WebhookWorker(
        sessions, settings, sender=WebhookSender(settings, resolver=resolver), clock=clock, jitter=lambda: 0.0
    )
    try:
        await worker.fan_out_once()
        await worker.deliver_due_once()
    finally:
        await worker.aclose()
    [got] = receiver.received
    assert got.headers["host"] == f"pinned.example.test:{receiver.port}"
