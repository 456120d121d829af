"""/demo: pick an item, pay with crypto on the hosted checkout, watch the order get fulfilled.

The shop behaves as a merchant's own server would: it creates the intent over the public API with
the demo merchant's secret key, sends the buyer to `checkout_url`, and fulfils the order only when
a signed `payment_intent.succeeded` webhook arrives at its receiver (`POST /demo/webhooks`), which
verifies the signature with the `standardwebhooks` library before recording anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import structlog
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from sluice.clock import utcnow
from sluice.demo import DemoConfig
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.ids import new_id

log = structlog.get_logger(__name__)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(prefix="/demo", tags=["demo"], include_in_schema=False)

#: The shop's catalogue: id → (name, price in USD as a decimal string).
ITEMS: dict[str, tuple[str, str]] = {
    "coffee": ("Single-origin coffee beans, 250 g", "12.00"),
    "tshirt": ("Sluice T-shirt", "25.00"),
    "stickers": ("Sticker pack", "3.50"),
}
ASSETS = ("USDC", "USDT", "ETH")


def _demo(request: Request) -> DemoConfig:
    demo: DemoConfig = request.app.state.demo
    return demo


def _api(demo: DemoConfig) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=demo.api_url, headers={"Authorization": f"Bearer {demo.secret_key}"}, timeout=30
    )


@router.get("", response_class=HTMLResponse)
async def shop(request: Request) -> Response:
    """The shop: a few items, each with a 'Pay with crypto' button."""
    demo = _demo(request)
    orders = sorted(demo.orders.values(), key=lambda o: o["created"], reverse=True)[:5]
    context = {"shop": demo.merchant_name, "items": ITEMS, "assets": ASSETS, "orders": orders}
    return templates.TemplateResponse(request, "shop.html", context)


@router.post("/orders")
async def place_order(
    request: Request, item: Annotated[str, Form()], asset: Annotated[str, Form()] = "USDC"
) -> Response:
    """Creates the order and its payment intent, then sends the buyer to the hosted checkout."""
    demo = _demo(request)
    if item not in ITEMS:
        raise InvalidRequestError(f"no item {item!r} in the demo shop", param="item")
    if asset not in ASSETS:
        raise InvalidRequestError(f"the demo shop takes {', '.join(ASSETS)}", param="asset")
    name, price = ITEMS[item]
    order_id = new_id("ord")
    order_url = f"{demo.api_url}/demo/orders/{order_id}"
    async with _api(demo) as api:
        response = await api.post(
            "/v1/payment_intents",
            json={
                "network": demo.network,
                "asset": asset,
                "price": {"amount": price, "currency": "usd"},
                "description": name,
                "metadata": {"order_id": order_id, "item": item, "return_url": order_url},
            },
            headers={"Idempotency-Key": order_id},
        )
    if response.status_code != 200:
        return JSONResponse(response.json(), status_code=response.status_code)
    intent = response.json()
    demo.save_order(
        {
            "id": order_id,
            "item": item,
            "name": name,
            "price": price,
            "asset": asset,
            "intent": intent["id"],
            "created": int(utcnow().timestamp()),
        }
    )
    log.info("demo_order_placed", order=order_id, intent=intent["id"])
    return RedirectResponse(intent["checkout_url"], status_code=303)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(order_id: str, request: Request) -> Response:
    """The order: its payment status from the API, and fulfilment once the webhook arrived."""
    demo = _demo(request)
    order = demo.orders.get(order_id)
    if order is None:
        raise NotFoundError(f"no order {order_id!r}", param="order")
    async with _api(demo) as api:
        intent = (await api.get(f"/v1/payment_intents/{order['intent']}")).json()
    delivery = demo.delivered(order["intent"], "payment_intent.succeeded")
    context = {
        "shop": demo.merchant_name,
        "order": order,
        "intent": intent,
        "delivery": delivery,
        "fulfilled": delivery is not None,
    }
    return templates.TemplateResponse(request, "order.html", context)


@router.post("/webhooks")
async def receive_webhook(request: Request) -> Response:
    """The demo merchant's webhook receiver: verifies the Standard Webhooks signature, records and
    prints the event; 400 when the signature does not verify (Sluice then retries)."""
    demo = _demo(request)
    body = await request.body()
    if demo.webhook_secret is None:
        return JSONResponse({"error": "the demo receiver has no secret yet"}, status_code=503)
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    try:
        payload: Any = Webhook(demo.webhook_secret).verify(body, headers)
    except WebhookVerificationError as exc:
        log.warning("demo_webhook_rejected", reason=str(exc))
        return JSONResponse({"error": f"signature check failed: {exc}"}, status_code=400)
    obj = (payload.get("data") or {}).get("object") or {}
    delivery = {
        "id": headers.get("webhook-id"),
        "type": payload.get("type"),
        "object_id": obj.get("id"),
        "status": obj.get("status"),
        "received_at": int(utcnow().timestamp()),
        "headers": headers,
        "body": body.decode(),
    }
    demo.record_delivery(delivery)
    print(  # noqa: T201 (the point of the dev receiver: show the merchant what arrived)
        f"webhook verified: {delivery['type']} {delivery['object_id']} ({delivery['id']})", flush=True
    )
    return JSONResponse({"received": True})


@router.get("/webhooks")
async def list_webhooks(request: Request) -> Response:
    """What the receiver got (newest last), for scripts and tests."""
    deliveries = [{k: v for k, v in d.items() if k != "body"} for d in _demo(request).deliveries]
    return Response(json.dumps({"data": deliveries}), media_type="application/json")
