"""Solana Pay URLs and the transaction-request endpoints' payloads (https://docs.solanapay.com/spec).

- A *transfer request* (`solana:<recipient>?amount=…&spl-token=…&reference=…&memo=…`) names one
  recipient, so it can only pay intents without splits: for those, any Solana Pay wallet builds the
  transfer itself.
- A *transaction request* (`solana:<https URL>`) makes the wallet GET the URL for a label and an
  icon, then POST `{"account": <payer>}` and sign the `{"transaction", "message"}` it is answered
  with: the transaction `sluice.rails.solana.transaction` built, splits and all. The API serves the
  two endpoints by calling the functions below; they hold no HTTP code themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict

from sluice.chain.network_config import Asset
from sluice.errors import InvalidRequestError, SluiceValueError
from sluice.rails.solana.addresses import parse_wallet
from sluice.rails.solana.payment import SolanaPayment


class TransactionRequestMetadata(BaseModel):
    """The GET answer: what the wallet shows before the payer accepts."""

    label: str
    icon: str


class TransactionRequestBody(BaseModel):
    """The POST body a wallet sends: the payer's account (base58)."""

    model_config = ConfigDict(extra="ignore")
    account: str


class TransactionRequestResponse(BaseModel):
    """The POST answer: the base64 transaction to sign, and a line the wallet shows."""

    transaction: str
    message: str | None = None


def format_amount(payment: SolanaPayment) -> str:
    """The amount in whole units as the spec wants it: decimal, no exponent, no trailing zeros."""
    return Asset(payment.asset, payment.mint, payment.decimals).format_units(payment.amount)


def transfer_request_url(payment: SolanaPayment, *, label: str | None = None) -> str:
    """The `solana:` transfer request URL of an intent without splits."""
    if payment.splits:
        raise SluiceValueError(
            "a Solana Pay transfer request pays one recipient; an intent with splits is paid "
            "through the transaction request",
            param="splits",
        )
    params: list[tuple[str, str]] = [("amount", format_amount(payment))]
    if payment.mint is not None:
        params.append(("spl-token", payment.mint))
    params.append(("reference", str(payment.reference_key)))
    if label:
        params.append(("label", label))
    if payment.message:
        params.append(("message", payment.message))
    params.append(("memo", payment.memo))
    return f"solana:{payment.merchant}?{urlencode(params, quote_via=quote)}"


def transaction_request_url(endpoint: str) -> str:
    """The `solana:` transaction request URL of an HTTPS endpoint (URL-encoded when it has a query)."""
    parts = urlsplit(endpoint)
    if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost"):
        raise SluiceValueError("a transaction request link must be an https URL", param="endpoint")
    return "solana:" + (quote(endpoint, safe="") if parts.query else endpoint)


def transaction_request_metadata(label: str, icon: str) -> dict[str, Any]:
    """The GET answer. The spec wants an absolute icon URL of an SVG, PNG or WebP image."""
    if not urlsplit(icon).scheme or not icon.lower().split("?")[0].endswith((".svg", ".png", ".webp")):
        raise SluiceValueError("the icon must be an absolute URL of an SVG, PNG or WebP image", param="icon")
    return TransactionRequestMetadata(label=label, icon=icon).model_dump()


def transaction_request_account(body: Mapping[str, Any]) -> str:
    """The payer of a POST body, validated as a wallet; a 400 error names `account` otherwise."""
    if not isinstance(body.get("account"), str):
        raise InvalidRequestError('the body must be {"account": <base58 address>}', param="account")
    return str(parse_wallet(body["account"], param="account"))


def transaction_request_response(transaction: str, message: str | None) -> dict[str, Any]:
    """The POST answer for the base64 `transaction` the rail built."""
    return TransactionRequestResponse(transaction=transaction, message=message).model_dump(exclude_none=True)
