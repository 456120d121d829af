"""Request and response shapes of /v1/payment_intents."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas import BaseUnits, DecimalString, Strict
from sluice.intents.schemas import METADATA_KEY_MAX, METADATA_MAX_KEYS, METADATA_VALUE_MAX
from sluice.models.payment_intent import CaptureMethod, PaymentIntent, PaymentIntentStatus
from sluice.models.quote import Quote
from sluice.pricing.currencies import minor_units


class SplitIn(Strict):
    recipient: str = Field(description="EVM address (EIP-55 checksum checked when mixed case).")
    bps: int = Field(ge=1, le=10_000, description="Share in basis points.")


class PriceIn(Strict):
    amount: DecimalString = Field(description='Fiat amount as a string, e.g. "25.00".')
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. usd.")


class PaymentIntentCreate(Strict):
    network: str = Field(description="Network name, see GET /v1/networks.")
    asset: str = Field(description="Asset symbol on that network (USDC, USDT, ETH…).")
    amount: BaseUnits | None = Field(
        default=None, description="Exact amount in base units (string or integer)."
    )
    price: PriceIn | None = Field(default=None, description="Fiat price converted with a locked quote.")
    quote: str | None = Field(default=None, description="Id of a quote from GET /v1/quotes (qt_…).")
    capture_method: CaptureMethod = CaptureMethod.automatic
    expires_in: int | None = Field(
        default=None, description="Seconds until the intent expires (default 900)."
    )
    splits: list[SplitIn] = Field(default_factory=list, max_length=4)
    metadata: dict[str, str] = Field(default_factory=dict)
    description: str | None = Field(default=None, max_length=1000)
    payer: str | None = Field(default=None, description="Only this address may pay.")
    allow_partial: bool = Field(default=False, description="Escrow only: several deposits may add up.")

    @field_validator("metadata")
    @classmethod
    def _stripe_metadata_limits(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > METADATA_MAX_KEYS:
            raise ValueError(f"metadata has at most {METADATA_MAX_KEYS} keys")
        for key, item in value.items():
            if not key or len(key) > METADATA_KEY_MAX:
                raise ValueError(f"metadata keys are 1 to {METADATA_KEY_MAX} characters")
            if len(item) > METADATA_VALUE_MAX:
                raise ValueError(f"metadata values are at most {METADATA_VALUE_MAX} characters")
        return value


class CancelIn(Strict):
    cancellation_reason: Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"] | None = (
        None
    )


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
    def of(cls, quote: Quote) -> QuotePublic:
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
    client_secret: str
    created: int
    expires_at: int
    livemode: bool
    description: str | None
    metadata: dict[str, str]
    payer: str | None
    quote: QuotePublic | None
    onchain: OnchainPublic
    checkout_url: str
    canceled_at: int | None
    cancellation_reason: str | None


def _plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros (NUMERIC columns pad to their scale)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def present(intent: PaymentIntent, checkout_base_url: str, quote: Quote | None = None) -> PaymentIntentPublic:
    """The API view of an intent (what webhooks will carry too)."""
    from sluice.intents.onchain import onchain_view

    created = _ts(intent.created_at)
    expires = _ts(intent.expires_at)
    assert created is not None and expires is not None
    return PaymentIntentPublic(
        id=intent.id,
        status=PaymentIntentStatus(intent.status),
        amount=str(intent.amount),
        amount_received=str(intent.amount_received),
        amount_capturable=str(intent.amount_capturable),
        amount_refunded=str(intent.amount_refunded),
        asset=intent.asset,
        decimals=intent.decimals,
        network=intent.network,
        capture_method=CaptureMethod(intent.capture_method),
        client_secret=intent.client_secret,
        created=created,
        expires_at=expires,
        livemode=intent.livemode,
        description=intent.description,
        metadata=intent.metadata_,
        payer=intent.payer,
        quote=QuotePublic.of(quote) if quote is not None else None,
        onchain=OnchainPublic(**onchain_view(intent)),
        checkout_url=f"{checkout_base_url.rstrip('/')}/{intent.id}",
        canceled_at=_ts(intent.canceled_at),
        cancellation_reason=intent.cancellation_reason,
    )


class TransactionsIn(Strict):
    payer: str = Field(description="The wallet address that will sign and send the transactions.")
    method: Literal["approve", "permit", "native"] = Field(
        description="approve + pay (ERC-20), permit (EIP-2612 signature, then one transaction) or native."
    )
    permit_signature: str | None = Field(
        default=None,
        description="0x-hex signature of the `permit` typed data from the first call (method permit).",
    )
    client_secret: str | None = Field(default=None, description="Required with a publishable key.")


class TransactionsPublic(BaseModel):
    object: Literal["payment_transactions"] = "payment_transactions"
    payment_intent: str
    method: str
    payer: str
    chain_id: int
    steps: list[str]
    transactions: list[dict[str, str]]
    permit: dict[str, Any] | None
    eip681: str | None
    checkout_url: str
    qr_svg: str


class CaptureIn(Strict):
    amount_to_capture: BaseUnits | None = Field(
        default=None, description="Base units; default all capturable."
    )
