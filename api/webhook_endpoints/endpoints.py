"""/v1/webhook_endpoints: where a merchant's events are POSTed, their deliveries and test pings."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from api.audit import Audit
from api.deps import ReadKey, SecretKey, Session
from api.schemas import ListResponse, Strict
from sluice.models.webhook import DeliveryStatus
from sluice.webhooks.service import WebhookEndpointService
from sluice.webhooks.ssrf import system_resolver
from sluice.webhooks.views import WebhookDeliveryPublic, WebhookEndpointPublic

router = APIRouter(prefix="/webhook_endpoints", tags=["webhook_endpoints"])

EventTypes = Annotated[
    list[Annotated[str, Field(max_length=60)]],
    Field(min_length=1, max_length=50, description='Event types to send, or ["*"] for all.'),
]


class WebhookEndpointCreate(Strict):
    url: str = Field(
        max_length=2048, description="https:// (any http(s) URL in test mode); public hosts only."
    )
    enabled_events: EventTypes
    description: str | None = Field(default=None, max_length=500)
    disabled: bool = False


class WebhookEndpointUpdate(Strict):
    url: str | None = Field(default=None, max_length=2048)
    enabled_events: EventTypes | None = None
    description: str | None = Field(default=None, max_length=500)
    disabled: bool | None = None


class DeletedWebhookEndpoint(BaseModel):
    id: str
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    deleted: Literal[True] = True


def webhook_endpoints(request: Request) -> WebhookEndpointService:
    """The service for this app (tests may put a fake DNS resolver in app.state.webhook_resolver)."""
    return WebhookEndpointService(
        request.app.state.settings,
        resolver=getattr(request.app.state, "webhook_resolver", system_resolver),
    )


Endpoints = Annotated[WebhookEndpointService, Depends(webhook_endpoints)]


@router.post("", response_model=WebhookEndpointPublic)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, principal: SecretKey, session: Session, service: Endpoints, audit: Audit
) -> WebhookEndpointPublic:
    """Create a webhook endpoint. The response carries the signing secret (`whsec_…`): store it now,
    it is never shown again. URLs that are, or resolve to, loopback, private, link-local, multicast
    or reserved addresses are refused with 400 `url_forbidden`; live mode takes https only."""
    endpoint, secret = await service.create(
        session,
        principal,
        url=body.url,
        enabled_events=body.enabled_events,
        description=body.description,
        disabled=body.disabled,
    )
    await audit("webhook_endpoint.create", endpoint.id)
    return WebhookEndpointPublic.of(endpoint, secret=secret)


@router.get("", response_model=ListResponse[WebhookEndpointPublic])
async def list_webhook_endpoints(
    principal: ReadKey,
    session: Session,
    service: Endpoints,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> ListResponse[WebhookEndpointPublic]:
    """List webhook endpoints, newest first."""
    rows, has_more = await service.list_endpoints(
        session, principal, limit=limit, starting_after=starting_after, ending_before=ending_before
    )
    return ListResponse[WebhookEndpointPublic](
        data=[WebhookEndpointPublic.of(e) for e in rows], has_more=has_more, url="/v1/webhook_endpoints"
    )


@router.get("/{endpoint_id}", response_model=WebhookEndpointPublic)
async def retrieve_webhook_endpoint(
    endpoint_id: str, principal: ReadKey, session: Session, service: Endpoints
) -> WebhookEndpointPublic:
    """Retrieve a webhook endpoint (without its secret)."""
    return WebhookEndpointPublic.of(await service.get(session, principal, endpoint_id))


@router.patch("/{endpoint_id}", response_model=WebhookEndpointPublic)
async def update_webhook_endpoint(
    endpoint_id: str,
    body: WebhookEndpointUpdate,
    principal: SecretKey,
    session: Session,
    service: Endpoints,
    audit: Audit,
) -> WebhookEndpointPublic:
    """Change the URL, enabled events, description, or `disabled`. Enabling an endpoint that Sluice
    disabled resumes its pending deliveries."""
    changes = body.model_dump(exclude_unset=True)
    for field in ("url", "enabled_events", "disabled"):
        if field in changes and changes[field] is None:
            changes.pop(field)
    endpoint = await service.update(session, principal, endpoint_id, changes)
    await audit("webhook_endpoint.update", endpoint.id)
    return WebhookEndpointPublic.of(endpoint)


@router.delete("/{endpoint_id}", response_model=DeletedWebhookEndpoint)
async def delete_webhook_endpoint(
    endpoint_id: str, principal: SecretKey, session: Session, service: Endpoints, audit: Audit
) -> DeletedWebhookEndpoint:
    """Delete a webhook endpoint, with its deliveries and their attempt log."""
    endpoint = await service.delete(session, principal, endpoint_id)
    await audit("webhook_endpoint.delete", endpoint.id)
    return DeletedWebhookEndpoint(id=endpoint.id)


@router.post("/{endpoint_id}/roll_secret", response_model=WebhookEndpointPublic)
async def roll_webhook_endpoint_secret(
    endpoint_id: str, principal: SecretKey, session: Session, service: Endpoints, audit: Audit
) -> WebhookEndpointPublic:
    """Replace the signing secret. The new one is in the response (shown once); for 24 hours every
    webhook carries two signatures, one per secret, so receivers can switch without losing any."""
    endpoint, secret = await service.roll_secret(session, principal, endpoint_id)
    await audit("webhook_endpoint.roll_secret", endpoint.id)
    return WebhookEndpointPublic.of(endpoint, secret=secret)


@router.get("/{endpoint_id}/deliveries", response_model=ListResponse[WebhookDeliveryPublic])
async def list_webhook_deliveries(
    endpoint_id: str,
    principal: ReadKey,
    session: Session,
    service: Endpoints,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    starting_after: str | None = None,
    status: DeliveryStatus | None = None,
    event: str | None = None,
) -> ListResponse[WebhookDeliveryPublic]:
    """The endpoint's deliveries, newest first, each with every attempt (time, HTTP status,
    latency, error, the first 2 KB of the response)."""
    rows, has_more = await service.deliveries(
        session,
        principal,
        endpoint_id,
        limit=limit,
        starting_after=starting_after,
        status=status,
        event_id=event,
    )
    return ListResponse[WebhookDeliveryPublic](
        data=[WebhookDeliveryPublic.of(*row) for row in rows],
        has_more=has_more,
        url=f"/v1/webhook_endpoints/{endpoint_id}/deliveries",
    )


@router.post("/{endpoint_id}/test", response_model=WebhookDeliveryPublic)
async def test_webhook_endpoint(
    endpoint_id: str, principal: SecretKey, session: Session, service: Endpoints, audit: Audit
) -> WebhookDeliveryPublic:
    """Queue a signed `webhook_endpoint.test` event for this endpoint; follow it in its deliveries."""
    delivery = await service.send_test(session, principal, endpoint_id)
    await audit("webhook_endpoint.test", endpoint_id)
    return WebhookDeliveryPublic.of(*delivery)
