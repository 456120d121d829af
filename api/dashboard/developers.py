"""Webhook endpoints (deliveries, redeliver, test ping, secret roll) and API keys (create, roll with
grace, revoke), through the same services as /v1/webhook_endpoints and `sluice merchants`.
Secrets are shown once, in the response that made them, and never stored in plain."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from api.dashboard.web import PREFIX, DashboardRoute, Member, Viewer, allowed, redirect, render
from sluice.dashboard import queries
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKey, ApiKeyKind, Mode
from sluice.users.roles import Permission
from sluice.webhooks.service import WebhookEndpointService
from sluice.webhooks.ssrf import system_resolver

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
Developer = Annotated[Member, Depends(allowed(Permission.webhooks))]
KeyManager = Annotated[Member, Depends(allowed(Permission.keys))]
MAX_GRACE_HOURS = 7 * 24


def _endpoints(request: Request) -> WebhookEndpointService:
    return WebhookEndpointService(
        request.app.state.settings, resolver=getattr(request.app.state, "webhook_resolver", system_resolver)
    )


# ------------------------------------------------------------------------------------- webhooks


@router.get("/webhooks")
async def webhooks(request: Request, member: Viewer) -> Response:
    rows, _ = await _endpoints(request).list_endpoints(member.session, member.principal, limit=100)
    return render(request, "webhooks.html", {"endpoints": rows})


@router.post("/webhooks")
async def create_webhook(
    request: Request,
    member: Developer,
    url: Annotated[str, Form(max_length=2000)],
    events: Annotated[str, Form(max_length=2000)] = "*",
    description: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    enabled = [e.strip() for e in events.replace(",", " ").split() if e.strip()] or ["*"]
    endpoint, secret = await _endpoints(request).create(
        member.session,
        member.principal,
        url=url.strip(),
        enabled_events=enabled,
        description=description or None,
    )
    await member.audit("webhook_endpoint.create", endpoint.id)
    return render(request, "webhook_secret.html", {"endpoint": endpoint, "secret": secret})


@router.get("/webhooks/{endpoint_id}")
async def webhook(request: Request, member: Viewer, endpoint_id: str) -> Response:
    service = _endpoints(request)
    endpoint = await service.get(member.session, member.principal, endpoint_id)
    deliveries, has_more = await service.deliveries(member.session, member.principal, endpoint_id, limit=50)
    bodies = await queries.event_bodies(
        member.session, member.principal, [d.event_id for d, _, _ in deliveries]
    )
    return render(
        request,
        "webhook.html",
        {
            "endpoint": endpoint,
            "deliveries": deliveries,
            "has_more": has_more,
            "bodies": bodies,
            "notice": request.query_params.get("done"),
        },
    )


@router.post("/webhooks/{endpoint_id}/roll")
async def roll_webhook_secret(request: Request, member: Developer, endpoint_id: str) -> Response:
    endpoint, secret = await _endpoints(request).roll_secret(member.session, member.principal, endpoint_id)
    await member.audit("webhook_endpoint.roll_secret", endpoint.id)
    return render(request, "webhook_secret.html", {"endpoint": endpoint, "secret": secret, "rolled": True})


@router.post("/webhooks/{endpoint_id}/test")
async def test_webhook(request: Request, member: Developer, endpoint_id: str) -> Response:
    delivery = await _endpoints(request).send_test(member.session, member.principal, endpoint_id)
    await member.audit("webhook_endpoint.test", delivery[0].id)
    return redirect(f"{PREFIX}/webhooks/{endpoint_id}?done=test")


@router.post("/webhooks/{endpoint_id}/toggle")
async def toggle_webhook(request: Request, member: Developer, endpoint_id: str) -> Response:
    service = _endpoints(request)
    endpoint = await service.get(member.session, member.principal, endpoint_id)
    await service.update(member.session, member.principal, endpoint_id, {"disabled": not endpoint.disabled})
    await member.audit("webhook_endpoint.update", endpoint_id)
    return redirect(f"{PREFIX}/webhooks/{endpoint_id}")


@router.post("/webhooks/{endpoint_id}/delete")
async def delete_webhook(request: Request, member: Developer, endpoint_id: str) -> Response:
    await _endpoints(request).delete(member.session, member.principal, endpoint_id)
    await member.audit("webhook_endpoint.delete", endpoint_id)
    return redirect(f"{PREFIX}/webhooks")


@router.post("/webhooks/{endpoint_id}/redeliver")
async def redeliver(
    request: Request, member: Developer, endpoint_id: str, event: Annotated[str, Form(max_length=60)]
) -> Response:
    await _endpoints(request).redeliver(member.session, member.principal, event, endpoint_id)
    await member.audit("event.redeliver", event)
    return redirect(f"{PREFIX}/webhooks/{endpoint_id}?done=redelivered")


# ------------------------------------------------------------------------------------- API keys


def _mode(member_livemode: bool) -> Mode:
    return Mode.live if member_livemode else Mode.test


async def _own_key(request: Request, member_merchant: str, mode: Mode, key_id: str) -> ApiKey:
    """A key of this account in the mode shown (another mode's key is not found here)."""
    for key in await merchant_service.list_keys(request.state.member.session, member_merchant):
        if key.id == key_id and key.mode == mode:
            return key
    raise NotFoundError(f"no API key {key_id!r}", param="key")


@router.get("/keys")
async def keys(request: Request, member: KeyManager) -> Response:
    assert member.merchant is not None
    mode = _mode(member.livemode)
    rows = [k for k in await merchant_service.list_keys(member.session, member.merchant.id) if k.mode == mode]
    return render(request, "keys.html", {"keys": rows, "kinds": [k.value for k in ApiKeyKind]})


@router.post("/keys")
async def create_key(
    request: Request, member: KeyManager, kind: Annotated[str, Form(max_length=20)]
) -> Response:
    assert member.merchant is not None
    try:
        parsed = ApiKeyKind(kind)
    except ValueError:
        raise InvalidRequestError(f"unknown key kind {kind!r}", param="kind") from None
    issued = await merchant_service.issue_key(
        member.session, member.merchant.id, parsed, _mode(member.livemode)
    )
    await member.audit("api_key.create", issued.api_key.id)
    return render(request, "key_secret.html", {"key": issued.api_key, "secret": issued.secret})


@router.post("/keys/{key_id}/roll")
async def roll_key(
    request: Request,
    member: KeyManager,
    key_id: str,
    grace_hours: Annotated[int, Form(ge=0, le=MAX_GRACE_HOURS)] = 0,
) -> Response:
    assert member.merchant is not None
    await _own_key(request, member.merchant.id, _mode(member.livemode), key_id)
    issued = await merchant_service.roll(
        member.session, member.merchant.id, key_id, grace=timedelta(hours=grace_hours)
    )
    await member.audit("api_key.roll", key_id)
    return render(
        request,
        "key_secret.html",
        {"key": issued.api_key, "secret": issued.secret, "grace_hours": grace_hours},
    )


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, member: KeyManager, key_id: str) -> Response:
    assert member.merchant is not None
    await _own_key(request, member.merchant.id, _mode(member.livemode), key_id)
    await merchant_service.revoke(member.session, member.merchant.id, key_id)
    await member.audit("api_key.revoke", key_id)
    return redirect(f"{PREFIX}/keys")
