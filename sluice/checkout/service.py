"""Opening an intent for the hosted checkout page: authorised by the intent's client secret alone.

The checkout page has no API key. Whoever holds the client secret (it travels in the intent's
`checkout_url`) may see that one intent's payer-facing facts and ask for its wallet transactions;
a wrong secret and an unknown id look the same (404), so ids cannot be probed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sluice.chain.registry import NetworkConfig, Registry
from sluice.checkout.links import checkout_link as checkout_link  # re-export: api/, intents.operations
from sluice.clock import utcnow
from sluice.db.session import driver_connection
from sluice.errors import NotFoundError
from sluice.intents.record import IntentRecord, QuoteRecord
from sluice.intents.repository import queries
from sluice.intents.repository.intents import quotes_of
from sluice.intents.status import PaymentIntentStatus
from sluice.merchants.service import Principal
from sluice.models.merchant import ApiKeyKind, Merchant, Mode

#: Statuses after which nothing more happens on the checkout page.
FINAL_STATUSES = frozenset({"succeeded", "requires_capture", "canceled", "expired"})
#: Principal id the checkout acts under (no API key is involved).
CHECKOUT_KEY_ID = "checkout"


def display_status(intent: IntentRecord, now: datetime | None = None) -> str:
    """The status the payer sees: an unpaid intent past its expiry is `expired` even before the
    expiry job has moved it."""
    status = PaymentIntentStatus(intent.status)
    if status == PaymentIntentStatus.requires_payment and intent.expires_at <= (now or utcnow()):
        return PaymentIntentStatus.expired.value
    return status.value


def format_units(amount: int, decimals: int) -> str:
    """Base units as a plain decimal string without trailing zeros (25000000, 6 → "25")."""
    text = format(Decimal(amount).scaleb(-decimals), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class CheckoutIntent:
    """One intent as the checkout page sees it, with what the page shows around it."""

    intent: IntentRecord
    merchant_name: str
    quote: QuoteRecord | None
    network: NetworkConfig
    #: The merchant set an accent colour or a logo (served at /brand/{merchant id}…).
    branded: bool = False
    has_logo: bool = False

    @property
    def principal(self) -> Principal:
        """The intent's merchant, as seen through a publishable key (what the client secret grants)."""
        mode = Mode.live if self.intent.livemode else Mode.test
        return Principal(self.intent.merchant_id, CHECKOUT_KEY_ID, ApiKeyKind.publishable, mode)

    def status(self, now: datetime | None = None) -> dict[str, Any]:
        """The live part of the page: what the status endpoint and the event stream send."""
        intent = self.intent
        now = now or utcnow()
        status = display_status(intent, now)
        return {
            "id": intent.id,
            "status": status,
            "final": status in FINAL_STATUSES,
            "amount": str(intent.amount),
            "amount_received": str(intent.amount_received),
            "expires_at": int(intent.expires_at.timestamp()),
            "server_time": int(now.timestamp()),
            "confirmations_required": self.network.confirmations,
            "cancellation_reason": intent.cancellation_reason,
        }


class CheckoutService:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def open(self, session: AsyncSession, intent_id: str, secret: str | None) -> CheckoutIntent:
        """The intent `intent_id` if `secret` is its client secret; NotFoundError otherwise."""
        missing = NotFoundError("no such checkout: the link is incomplete or wrong", param="secret")
        if not secret or len(intent_id) > 40:
            raise missing
        found = await queries.get_any(
            session, intent_id, Merchant.name, Merchant.brand_color, Merchant.brand_logo_type, join=Merchant
        )
        if found is None or not hmac.compare_digest(found[0].client_secret.encode(), secret.encode()):
            raise missing
        intent, (merchant_name, brand_color, logo_type) = found
        quotes = await quotes_of(await driver_connection(session), [intent])
        quote = quotes.get(intent.quote_id) if intent.quote_id else None
        network = self.registry.network(intent.network)
        branded = brand_color is not None or logo_type is not None
        return CheckoutIntent(intent, merchant_name, quote, network, branded, logo_type is not None)

    async def refresh(self, session: AsyncSession, checkout: CheckoutIntent) -> CheckoutIntent:
        """The same checkout with the intent re-read (for the live status stream)."""
        found = await queries.get_any(session, checkout.intent.id)
        if found is None:
            raise NotFoundError("no such checkout", param="id")
        return replace(checkout, intent=found[0])
