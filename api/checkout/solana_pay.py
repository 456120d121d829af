"""Solana Pay transaction requests for the hosted checkout: /pay/{id}/solana-pay?secret=….

A mobile wallet scanning the checkout's QR code (`solana:https://…/pay/{id}/solana-pay?secret=…`)
GETs the URL for a label and an icon, then POSTs `{"account": <payer>}` and signs the base64
`{"transaction", "message"}` it gets back (https://docs.solanapay.com/spec). Like the rest of the
checkout, the intent's client secret is the only credential; a wrong one answers 404 as for an
unknown id. Wallets call from anywhere (web wallets from their own origin), so every answer carries
`Access-Control-Allow-Origin: *`; the answers are JSON (`application/json`), errors a 4xx with a
`message` (what the spec's wallets display) beside the API's usual `error` object.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.checkout.endpoints import PRIVATE_HEADERS, Checkouts, Secret
from api.deps import Session
from api.errors import error_body
from sluice.errors import InvalidRequestError, SluiceError
from sluice.intents.operations import ChainOperations
from sluice.rails.solana.solana_pay import (
    transaction_request_account,
    transaction_request_metadata,
    transaction_request_response,
)

router = APIRouter(prefix="/pay", tags=["checkout"], include_in_schema=False)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept, Accept-Encoding",
    "Access-Control-Max-Age": "86400",
}
HEADERS = {**PRIVATE_HEADERS, **CORS_HEADERS}
ICON_PATH = "/static/checkout/solana-pay-icon.svg"


def _error(exc: SluiceError) -> JSONResponse:
    body: dict[str, Any] = {"message": str(exc), **error_body(exc.error_type, exc.code, str(exc), exc.param)}
    return JSONResponse(body, status_code=exc.http_status, headers=HEADERS)


def _icon_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + ICON_PATH


@router.options("/{intent_id}/solana-pay")
async def solana_pay_preflight(intent_id: str) -> Response:
    """CORS preflight of web wallets."""
    return Response(status_code=204, headers=CORS_HEADERS)


@router.get("/{intent_id}/solana-pay")
async def solana_pay_metadata(
    intent_id: str, request: Request, session: Session, checkouts: Checkouts, secret: Secret = None
) -> JSONResponse:
    """The GET of the transaction request: `{"label", "icon"}` (the merchant's name, our icon)."""
    try:
        checkout = await checkouts.open(session, intent_id, secret)
        _require_solana(checkout.network.family)
    except SluiceError as exc:
        return _error(exc)
    return JSONResponse(
        transaction_request_metadata(checkout.merchant_name, _icon_url(request)), headers=HEADERS
    )


@router.post("/{intent_id}/solana-pay")
async def solana_pay_transaction(
    intent_id: str, request: Request, session: Session, checkouts: Checkouts, secret: Secret = None
) -> JSONResponse:
    """The POST of the transaction request: `{"account"}` in, `{"transaction", "message"}` out —
    the same transaction as POST /v1/payment_intents/{id}/transactions for that payer."""
    try:
        checkout = await checkouts.open(session, intent_id, secret)
        _require_solana(checkout.network.family)
        try:
            body = await request.json()
        except ValueError:
            body = None
        account = transaction_request_account(body if isinstance(body, dict) else {})
        ops: ChainOperations = request.app.state.operations
        built = await ops.transactions(
            session, checkout.principal, intent_id, payer=account, method=None, client_secret=secret
        )
    except SluiceError as exc:
        return _error(exc)
    intent = checkout.intent
    message = intent.description or f"{checkout.merchant_name}: payment {intent.id}"
    return JSONResponse(
        transaction_request_response(built["transactions"][0]["transaction"], message), headers=HEADERS
    )


def _require_solana(family: str) -> None:
    if family != "solana":
        raise InvalidRequestError(
            "this intent is not paid on Solana: Solana Pay does not apply", code="rail_unavailable"
        )
