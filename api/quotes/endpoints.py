"""/v1/quotes: a fiat price converted into an asset's base units, locked for 15 minutes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AnyKey, Session
from api.payment_intents.endpoints import Intents
from sluice.errors import InvalidRequestError, SluiceError
from sluice.intents.service import resolve_asset
from sluice.intents.views import QuotePublic
from sluice.pricing.quotes import PLAIN_DECIMAL_PATTERN

router = APIRouter(prefix="/quotes", tags=["quotes"])


@router.get("", response_model=QuotePublic)
async def get_quote(
    principal: AnyKey,
    session: Session,
    service: Intents,
    network: Annotated[str, Query(description="Network name.")],
    asset: Annotated[str, Query(description="Asset symbol.")],
    amount: Annotated[
        str,
        Query(
            description='Fiat amount, a plain decimal string, e.g. "25.00".', pattern=PLAIN_DECIMAL_PATTERN
        ),
    ],
    currency: Annotated[str, Query(min_length=3, max_length=3, description="ISO 4217 code.")],
) -> QuotePublic:
    """Price `amount` of `currency` in `asset` on `network`. The returned quote's amount is locked until
    `locked_until`: pass its id as `quote` when creating a payment intent. Rounding favours the merchant."""
    try:
        net = service.registry.network(network)
    except SluiceError as exc:
        raise InvalidRequestError(str(exc), param="network", code="unknown_network") from exc
    try:
        resolved = resolve_asset(net, asset)
    except SluiceError as exc:
        raise InvalidRequestError(str(exc), param="asset", code="unknown_asset") from exc
    quote = await service.quote(session, principal, net, resolved, amount, currency)
    return QuotePublic.of(quote)
