"""/pay/{id}: the hosted checkout, authorised by the intent's client secret (no API key).

Every endpoint takes the client secret (`?secret=` on GETs, `secret` in the POST body) and answers
404 for a wrong one exactly as for an unknown id, so one payer's link opens one intent and nothing
else of its merchant.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import Field
from sse_starlette.sse import EventSourceResponse, ServerSentEvent

from api.checkout.solana_links import checkout_solana
from api.deps import Session
from api.payment_intents.schemas import GaslessPublic, RelayPublic, TransactionsPublic
from api.schemas import Strict
from sluice.chain.networks import NETWORKS
from sluice.chain.payment_uri import qr_svg
from sluice.checkout.service import CheckoutIntent, CheckoutService, checkout_link, format_units
from sluice.intents.operations import ChainOperations
from sluice.intents.views import QuotePublic
from sluice.rails.evm_deposit import deposit_view

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/pay", tags=["checkout"], include_in_schema=False)
#: Headers of every checkout response: the URL carries the client secret, so it must not leak
#: through a Referer, a cache or a frame.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Seconds between two reads of the intent while a status stream is open.
POLL_SECONDS = 1.0
#: Longest life of one status stream; the browser's EventSource reconnects by itself.
STREAM_SECONDS = 300.0


def checkout_service(request: Request) -> CheckoutService:
    service: CheckoutService = request.app.state.checkout
    return service


Checkouts = Annotated[CheckoutService, Depends(checkout_service)]
Secret = Annotated[str | None, Query(max_length=200, description="The intent's client secret.")]


def _return_url(checkout: CheckoutIntent) -> str | None:
    """The merchant's page to go back to (metadata `return_url`), only when it is http(s)."""
    url = (checkout.intent.metadata_ or {}).get("return_url")
    if url and (url.startswith("https://") or url.startswith("http://")):
        return url
    return None


def _wallet_network(checkout: CheckoutIntent) -> dict[str, Any]:
    """What wallet_addEthereumChain needs. RPC URLs may embed API keys, so only the public default
    URL of a known network is shown, or the configured one for a local dev chain."""
    network = checkout.network
    rpc_urls: list[str] = []
    if network.chain_id in (31337, 1337) and network.rpc_urls:
        rpc_urls = [network.rpc_urls[0]]
    elif network.name in NETWORKS and NETWORKS[network.name].default_rpc:
        rpc_urls = [str(NETWORKS[network.name].default_rpc)]
    return {
        "chainId": hex(network.chain_id),
        "chainName": network.name,
        "nativeCurrency": {
            "name": network.native_symbol,
            "symbol": network.native_symbol,
            "decimals": network.native_decimals,
        },
        "rpcUrls": rpc_urls,
    }


def _stacks_data(checkout: CheckoutIntent) -> dict[str, Any]:
    """For a Stacks intent, the chain its wallet must be on ("mainnet" or "testnet")."""
    if checkout.network.family != "stacks":
        return {}
    return {"stacks": {"chain": "testnet" if checkout.network.testnet else "mainnet"}}


def _page_data(request: Request, checkout: CheckoutIntent, secret: str) -> dict[str, Any]:
    intent = checkout.intent
    base = str(request.app.state.settings.checkout_base_url)
    return {
        "id": intent.id,
        "secret": secret,
        "asset": intent.asset,
        "native": intent.token_address is None,
        "amount": str(intent.amount),
        "amount_display": format_units(int(intent.amount), intent.decimals),
        "decimals": intent.decimals,
        "network": _wallet_network(checkout),
        "family": checkout.network.family,
        **_stacks_data(checkout),
        "return_url": _return_url(checkout),
        "checkout_url": checkout_link(base, intent.id, secret),
        "status": checkout.status(),
        "deposit": deposit_view(intent),
        # A wallet pays every method but a deposit address (the EVM contract call, Solana Pay, Stacks).
        "wallet": any(m != "deposit_address" for m in intent.payment_method_types or ()),
        "solana": checkout_solana(request, checkout, secret),
        "endpoints": {
            "status": f"/pay/{intent.id}/status",
            "events": f"/pay/{intent.id}/events",
            "transactions": f"/pay/{intent.id}/transactions",
            "gasless": f"/pay/{intent.id}/gasless",
            "relay": f"/pay/{intent.id}/relay",
        },
        # "Pay without gas": ERC-20 intents paid through the fee-splitting contract (EIP-3009 when the
        # token has it, else Permit2 after a one-time approval); the API decides which on click.
        "gasless": intent.token_address is not None
        and intent.capture_method == "automatic"
        and intent.rail == "evm-contract",
    }


@router.get("/{intent_id}", response_class=HTMLResponse)
async def checkout_page(
    intent_id: str, request: Request, session: Session, checkouts: Checkouts, secret: Secret = None
) -> HTMLResponse:
    """The hosted checkout page of one intent."""
    checkout = await checkouts.open(session, intent_id, secret)
    assert secret is not None
    data = _page_data(request, checkout, secret)
    intent = checkout.intent
    quote = checkout.quote
    context = {
        "merchant_name": checkout.merchant_name,
        "description": intent.description,
        "amount": data["amount_display"],
        "asset": intent.asset,
        "fiat": QuotePublic.of(quote) if quote is not None else None,
        "network": checkout.network.name,
        "chain_id": checkout.network.chain_id,
        "family": checkout.network.family,
        "status": data["status"]["status"],
        "qr": Markup(qr_svg(data["checkout_url"], scale=4)),  # noqa: S704 (segno's own SVG)
        "deposit": data["deposit"],
        "wallet": data["wallet"],
        "deposit_qr": (
            Markup(qr_svg(data["deposit"]["uri"], scale=4))  # noqa: S704 (segno's own SVG)
            if data["deposit"] is not None
            else None
        ),
        "solana_pay": _solana_pay_qr(data),
        "data_json": json.dumps(data).replace("</", "<\\/"),
        "return_url": data["return_url"],
        # Checkout branding (api/checkout/branding.py): a stylesheet and a logo from this origin.
        "brand": intent.merchant_id if checkout.branded else None,
        "logo": checkout.has_logo,
    }
    response = templates.TemplateResponse(request, "checkout.html", context)
    response.headers.update(PRIVATE_HEADERS)
    response.headers["Content-Security-Policy"] = CSP
    return response


def _solana_pay_qr(data: dict[str, Any]) -> Markup | None:
    """The Solana Pay QR code (transaction request) of a Solana intent, for mobile wallets."""
    link = (data.get("solana") or {}).get("transaction_request")
    return Markup(qr_svg(link, scale=4)) if link else None  # noqa: S704 (segno's own SVG)


@router.get("/{intent_id}/status")
async def checkout_status(
    intent_id: str, session: Session, checkouts: Checkouts, secret: Secret = None
) -> JSONResponse:
    """The intent's payer-facing status (the polling fallback of the event stream)."""
    checkout = await checkouts.open(session, intent_id, secret)
    return JSONResponse(checkout.status(), headers=PRIVATE_HEADERS)


@router.get("/{intent_id}/events")
async def checkout_events(
    intent_id: str, request: Request, checkouts: Checkouts, secret: Secret = None
) -> EventSourceResponse:
    """Server-sent `status` events: one at once, then one whenever the status changes; the stream
    ends after a final status (paid, expired, canceled)."""
    sessions = request.app.state.sessions
    async with sessions() as session:
        checkout = await checkouts.open(session, intent_id, secret)

    async def stream() -> AsyncIterator[ServerSentEvent]:
        nonlocal checkout
        last: dict[str, Any] | None = None
        loop = asyncio.get_running_loop()
        ends = loop.time() + STREAM_SECONDS
        while loop.time() < ends:
            status = checkout.status()
            comparable = {k: v for k, v in status.items() if k != "server_time"}
            if comparable != last:
                last = comparable
                yield ServerSentEvent(data=json.dumps(status), event="status")
                if status["final"]:
                    return
            await asyncio.sleep(POLL_SECONDS)
            if await request.is_disconnected():
                return
            async with sessions() as session:
                checkout = await checkouts.refresh(session, checkout)

    return EventSourceResponse(stream(), ping=15, headers=PRIVATE_HEADERS)


class CheckoutTransactionsIn(Strict):
    secret: str = Field(max_length=200, description="The intent's client secret.")
    payer: str = Field(description="The connected wallet's address.")
    method: Literal["approve", "permit", "native"] | None = None
    permit_signature: str | None = Field(default=None, max_length=200)


@router.post("/{intent_id}/transactions", response_model=TransactionsPublic)
async def checkout_transactions(
    intent_id: str, body: CheckoutTransactionsIn, request: Request, session: Session, checkouts: Checkouts
) -> TransactionsPublic:
    """The unsigned transactions for the connected wallet, as /v1/payment_intents/{id}/transactions."""
    checkout = await checkouts.open(session, intent_id, body.secret)
    ops: ChainOperations = request.app.state.operations
    built = await ops.transactions(
        session,
        checkout.principal,
        intent_id,
        payer=body.payer,
        method=body.method,
        permit_signature=body.permit_signature,
        client_secret=body.secret,
    )
    return TransactionsPublic(**built)


class CheckoutGaslessIn(Strict):
    secret: str = Field(max_length=200, description="The intent's client secret.")
    payer: str = Field(description="The connected wallet's address.")
    method: Literal["eip3009", "permit2"] | None = None


class CheckoutRelayIn(Strict):
    secret: str = Field(max_length=200, description="The intent's client secret.")
    payer: str = Field(description="The connected wallet's address.")
    method: Literal["eip3009", "permit2"]
    signature: str = Field(max_length=200)


@router.post("/{intent_id}/gasless", response_model=GaslessPublic)
async def checkout_gasless(
    intent_id: str, body: CheckoutGaslessIn, request: Request, session: Session, checkouts: Checkouts
) -> GaslessPublic:
    """The typed data to sign for "pay without gas", as /v1/payment_intents/{id}/gasless."""
    checkout = await checkouts.open(session, intent_id, body.secret)
    ops: ChainOperations = request.app.state.operations
    built = await ops.gasless_request(
        session,
        checkout.principal,
        intent_id,
        payer=body.payer,
        method=body.method,
        client_secret=body.secret,
    )
    return GaslessPublic(**built)


@router.post("/{intent_id}/relay", response_model=RelayPublic)
async def checkout_relay(
    intent_id: str, body: CheckoutRelayIn, request: Request, session: Session, checkouts: Checkouts
) -> RelayPublic:
    """Relays the wallet's signature, as /v1/payment_intents/{id}/relay."""
    checkout = await checkouts.open(session, intent_id, body.secret)
    ops: ChainOperations = request.app.state.operations
    relayed = await ops.relay_gasless(
        session,
        checkout.principal,
        intent_id,
        payer=body.payer,
        method=body.method,
        signature=body.signature,
        client_secret=body.secret,
    )
    return RelayPublic(**relayed)
