"""Stablecoins quoted 1:1 against their peg currency, but only while a reference price agrees.

Quoting USDC at exactly 1 usd is what merchants expect and spares them market noise; during a
depeg it would let payers settle with a coin worth less, so a reference source (CoinGecko, a
Chainlink USDC/USD feed…) must place the coin within `band` of its peg first.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

import structlog

from sluice.errors import (
    PricingUnavailableError,
    SluiceValueError,
    StablecoinDepegError,
    UnsupportedPairError,
)
from sluice.pricing.base import Clock, PriceSource, Rate, normalize_pair, utcnow

log = structlog.get_logger(__name__)

#: Stablecoin symbol -> the fiat currency it is pegged to.
DEFAULT_PEGS: MappingProxyType[str, str] = MappingProxyType(
    {"USDC": "usd", "USDT": "usd", "DAI": "usd", "PYUSD": "usd", "EURC": "eur"}
)
DEFAULT_BAND = Decimal("0.02")
ONE = Decimal(1)


class StablecoinPriceSource:
    """Answers stablecoin/peg pairs with 1, after the depeg guard; other pairs are unsupported."""

    name = "peg"

    def __init__(
        self,
        reference: PriceSource | None,
        *,
        pegs: Mapping[str, str] = DEFAULT_PEGS,
        band: Decimal = DEFAULT_BAND,
        require_reference: bool = True,
        clock: Clock = utcnow,
    ) -> None:
        if not isinstance(band, Decimal) or not (Decimal(0) <= band < ONE):
            raise SluiceValueError(f"depeg band must be a Decimal in [0, 1), got {band!r}")
        if reference is None and require_reference:
            raise SluiceValueError("a stablecoin peg needs a reference source, or require_reference=False")
        self.reference = reference
        self.pegs = dict(normalize_pair(s, c) for s, c in pegs.items())
        self.band = band
        self.require_reference = require_reference
        self._clock = clock

    async def rate(self, base: str, quote: str) -> Rate:
        base, quote = normalize_pair(base, quote)
        if self.pegs.get(base) != quote:
            raise UnsupportedPairError(f"{base} is not a stablecoin pegged to {quote}")
        checked = await self._check_peg(base, quote)
        source = f"{self.name}:{checked}" if checked else self.name
        return Rate(base=base, quote=quote, value=ONE, source=source, observed_at=self._clock())

    async def _check_peg(self, base: str, quote: str) -> str | None:
        """The reference source's name once it confirms the peg; raises when it contradicts it."""
        if self.reference is None:
            return None
        try:
            reference = await self.reference.rate(base, quote)
        except (PricingUnavailableError, UnsupportedPairError) as exc:
            if self.require_reference:
                raise PricingUnavailableError(
                    f"cannot check the {base}/{quote} peg: {exc}",
                    retry_after=getattr(exc, "retry_after", None),
                ) from exc
            log.warning("pricing.peg.unchecked", asset=base, currency=quote, error=str(exc))
            return None
        deviation = abs(reference.value - ONE)
        if deviation > self.band:
            log.error(
                "pricing.peg.depeg",
                asset=base,
                currency=quote,
                observed=str(reference.value),
                band=str(self.band),
            )
            raise StablecoinDepegError(
                f"{base} trades at {reference.value} {quote} per {reference.source}, outside the "
                f"±{self.band * 100}% band around 1; refusing to quote it 1:1",
                asset=base,
                observed=str(reference.value),
                band=str(self.band),
            )
        return reference.source
