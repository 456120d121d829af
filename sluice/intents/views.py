"""The public (API and webhook) view of payment intents: one shape for responses and event payloads.

`present` builds it, as JSON-ready data, for every response and every event; `PaymentIntentPublic` is
its schema (OpenAPI, response models), and tests/api/test_intent_views.py checks that what `present`
builds validates against it and dumps back unchanged.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from sluice.checkout.links import checkout_link
from sluice.intents.onchain import onchain_json
from sluice.intents.status import CaptureMethod, PaymentIntentStatus
from sluice.pricing.currencies import minor_units
from sluice.rails.evm_deposit import deposit_view

if TYPE_CHECKING:
    from sluice.intents.record import IntentRecord, QuoteRecord


class QuotePublic(BaseModel):
    id: str
    object: Literal["quote"] = "quote"
    fiat_amount: str
    currency: str
    network: str
    asset: str
    rate: str
    source: str
    amount: str
    created: int
    locked_until: int

    @classmethod
    def of(cls, quote: QuoteRecord) -> QuotePublic:
        return cls(
            id=quote.id,
            fiat_amount=str(quote.fiat_amount.quantize(Decimal(1).scaleb(-minor_units(quote.currency)))),
            currency=quote.currency,
            network=quote.network,
            asset=quote.asset,
            rate=_plain(quote.rate),
            source=quote.source,
            amount=str(quote.amount),
            created=int(quote.created_at.timestamp()),
            locked_until=int(quote.locked_until.timestamp()),
        )


class OnchainPublic(BaseModel):
    chain_id: int
    contract: str
    kind: Literal["payments", "escrow"]
    intent: dict[str, Any]
    signature: str
    typed_data: dict[str, Any]


#: The rail whose intents carry the operator's EIP-712 signature (`onchain`).
SIGNED_RAIL = "evm-contract"


class DepositPublic(BaseModel):
    """The intent's deposit address (payment method `deposit_address`)."""

    address: str
    #: The exact amount in base units, and what is still to send.
    amount: str
    amount_remaining: str
    asset: str
    #: The token contract; null for the native coin.
    token: str | None
    chain_id: int
    #: EIP-681 URI of the plain transfer (`ethereum:<token>@<chainId>/transfer?address=…&uint256=…`,
    #: `ethereum:<address>@<chainId>?value=…` for the native coin); the QR code encodes it.
    uri: str


class PaymentIntentPublic(BaseModel):
    id: str
    object: Literal["payment_intent"] = "payment_intent"
    status: PaymentIntentStatus
    amount: str
    amount_received: str
    amount_capturable: str
    amount_refunded: str
    asset: str
    decimals: int
    network: str
    capture_method: CaptureMethod
    #: How it is paid (sluice.rails).
    rail: str
    #: How the payer may pay: contract_call, deposit_address (EVM); the rail's name elsewhere.
    payment_method_types: list[str]
    #: The deposit address, exact amount and EIP-681 URI when `deposit_address` is offered.
    deposit: DepositPublic | None
    client_secret: str
    created: int
    expires_at: int
    livemode: bool
    description: str | None
    metadata: dict[str, str]
    payer: str | None
    quote: QuotePublic | None
    #: The operator-signed EIP-712 intent (the evm-contract rail); null on rails without one.
    onchain: OnchainPublic | None
    checkout_url: str
    canceled_at: int | None
    cancellation_reason: str | None


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (NUMERIC columns pad to their scale)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def present(intent: IntentRecord, checkout_base_url: str, quote: QuoteRecord | None = None) -> dict[str, Any]:
    """The API view of an intent as JSON-ready data, in `PaymentIntentPublic`'s shape and key order:
    every response and every event payload (the indexer builds thousands a second, so it is plain data,
    ~10x faster than building and dumping the pydantic model). Nested parts may be shared, memoized
    objects: treat the result as read-only."""
    created = _ts(intent.created_at)
    expires = _ts(intent.expires_at)
    assert created is not None and expires is not None
    metadata = intent.metadata_
    return {
        "id": intent.id,
        "object": "payment_intent",
        "status": PaymentIntentStatus(intent.status).value,
        "amount": str(intent.amount),
        "amount_received": str(intent.amount_received),
        "amount_capturable": str(intent.amount_capturable),
        "amount_refunded": str(intent.amount_refunded),
        "asset": intent.asset,
        "decimals": intent.decimals,
        "network": intent.network,
        "capture_method": CaptureMethod(intent.capture_method).value,
        "rail": intent.rail,
        "payment_method_types": list(intent.payment_method_types),
        "deposit": deposit_view(intent),
        "client_secret": intent.client_secret,
        "created": created,
        "expires_at": expires,
        "livemode": intent.livemode,
        "description": intent.description,
        "metadata": dict(metadata) if metadata is not None else metadata,
        "payer": intent.payer,
        "quote": QuotePublic.of(quote).model_dump(mode="json") if quote is not None else None,
        "onchain": onchain_json(intent) if intent.rail == SIGNED_RAIL else None,
        "checkout_url": checkout_link(checkout_base_url, intent.id, intent.client_secret),
        "canceled_at": _ts(intent.canceled_at),
        "cancellation_reason": intent.cancellation_reason,
    }
