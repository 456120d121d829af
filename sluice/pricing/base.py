"""What every price source answers with (`Rate`) and the interface they share (`PriceSource`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from sluice.errors import InvalidPriceError, SluiceValueError

#: Where sources and quotes read the time from; tests pass a fake one.
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the default clock)."""
    return datetime.now(UTC)


def require_aware(when: datetime, what: str = "time") -> datetime:
    """`when` converted to UTC; a naive datetime is refused, since its zone would be a guess."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise SluiceValueError(f"{what} must be timezone-aware, got naive {when.isoformat()}")
    return when.astimezone(UTC)


def normalize_pair(base: str, quote: str) -> tuple[str, str]:
    """(asset symbol upper-case, fiat currency lower-case): the one spelling caches and configs use."""
    if not isinstance(base, str) or not base.strip():
        raise SluiceValueError(f"asset symbol must be a non-empty string, got {base!r}")
    if not isinstance(quote, str) or not quote.strip():
        raise SluiceValueError(f"currency must be a non-empty string, got {quote!r}")
    return base.strip().upper(), quote.strip().lower()


@dataclass(frozen=True)
class Rate:
    """How many units of fiat `quote` one whole unit of asset `base` is worth, and who said so when."""

    base: str
    quote: str
    value: Decimal
    source: str
    observed_at: datetime

    def __post_init__(self) -> None:
        base, quote = normalize_pair(self.base, self.quote)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "quote", quote)
        # bool is an int and float is never money: both are refused, whatever they hold.
        if not isinstance(self.value, Decimal):
            raise InvalidPriceError(
                f"{self.source} rate for {base}/{quote} must be a Decimal, got {type(self.value).__name__}"
            )
        if not self.value.is_finite() or self.value <= 0:
            raise InvalidPriceError(
                f"{self.source} rate for {base}/{quote} must be positive, got {self.value}"
            )
        object.__setattr__(self, "observed_at", require_aware(self.observed_at, "observed_at"))

    @property
    def pair(self) -> tuple[str, str]:
        return self.base, self.quote


@runtime_checkable
class PriceSource(Protocol):
    """Anything that can price an asset in a fiat currency.

    Implementations raise UnsupportedPairError for a pair they do not price (so a composite can try
    the next source), PricingUnavailableError (or a subclass) when they cannot price it right now,
    and StablecoinDepegError when quoting would be unsafe; never return a float or an unchecked value.
    """

    async def rate(self, base: str, quote: str) -> Rate:
        """The current rate of `base` (asset symbol, e.g. "ETH") in `quote` (fiat, e.g. "usd")."""
        ...
