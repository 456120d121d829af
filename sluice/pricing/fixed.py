"""Rates fixed in configuration: for test mode, local development, and assets without a market."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sluice.errors import SluiceValueError, UnsupportedPairError
from sluice.pricing.base import Clock, Rate, normalize_pair, utcnow


class FixedPriceSource:
    """Answers every configured pair with its configured rate, observed now."""

    name = "fixed"

    def __init__(self, rates: Mapping[tuple[str, str], Decimal], *, clock: Clock = utcnow) -> None:
        self._clock = clock
        self._rates: dict[tuple[str, str], Decimal] = {}
        for (base, quote), value in rates.items():
            pair = normalize_pair(base, quote)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise SluiceValueError(
                    f"fixed rate for {pair[0]}/{pair[1]} must be a positive Decimal, got {value!r}"
                )
            self._rates[pair] = value

    @property
    def pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._rates)

    async def rate(self, base: str, quote: str) -> Rate:
        pair = normalize_pair(base, quote)
        try:
            value = self._rates[pair]
        except KeyError:
            raise UnsupportedPairError(f"no fixed rate configured for {pair[0]}/{pair[1]}") from None
        return Rate(base=pair[0], quote=pair[1], value=value, source=self.name, observed_at=self._clock())
