"""Fiat price -> amount of an asset in base units, locked for a while: what a fiat-priced intent owes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction

from sluice.errors import InvalidAmountError, InvalidPriceError, SluiceValueError
from sluice.pricing.base import PriceSource, Rate, normalize_pair, require_aware, utcnow
from sluice.pricing.currencies import minor_units

#: Fiat-priced intents hold their quote for 15 minutes by default (see ARCHITECTURE.md).
DEFAULT_LOCK_SECONDS = 900
#: Token amounts must fit a uint256, as the contracts take them.
MAX_AMOUNT = 2**256 - 1
#: ERC-20 decimals are a uint8; nothing real uses more than this.
MAX_DECIMALS = 77


@dataclass(frozen=True)
class Quote:
    """A fiat amount converted at one rate; `amount` (base units) is what the payer owes until `locked_until`.

    `fiat_amount` is quantized to the currency's minor unit, so `str()` gives e.g. "25.00".
    """

    fiat_amount: Decimal
    currency: str
    asset: str
    decimals: int
    rate: Decimal
    source: str
    rate_observed_at: datetime
    amount: int
    created_at: datetime
    locked_until: datetime

    def is_expired(self, now: datetime | None = None) -> bool:
        """True from `locked_until` on: the amount must then be quoted again."""
        return require_aware(now or utcnow(), "now") >= self.locked_until

    def as_dict(self) -> dict[str, str | int]:
        """JSON-ready: money as decimal strings (never floats), times as ISO 8601."""
        return {
            "fiat_amount": str(self.fiat_amount),
            "currency": self.currency,
            "asset": self.asset,
            "decimals": self.decimals,
            "rate": str(self.rate),
            "source": self.source,
            "rate_observed_at": self.rate_observed_at.isoformat(),
            "amount": str(self.amount),
            "created_at": self.created_at.isoformat(),
            "locked_until": self.locked_until.isoformat(),
        }


#: A fiat amount as the API takes it: digits, optionally a point and more digits ("25", "25.00").
PLAIN_DECIMAL_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
_PLAIN_DECIMAL = re.compile(PLAIN_DECIMAL_PATTERN)


def plain_decimal(value: str) -> Decimal:
    """A plain decimal string as a Decimal: no sign, exponent, whitespace, separators or special values,
    so that "1e3" cannot become a thousand and " 1.00" is not silently trimmed."""
    if not _PLAIN_DECIMAL.fullmatch(value):
        raise InvalidAmountError(
            f'amount {value!r} is not a plain decimal string (digits and an optional point, e.g. "25.00")'
        )
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise InvalidAmountError(f"amount {value!r} is not a decimal number") from None


def parse_fiat_amount(value: Decimal | int | str, currency: str) -> Decimal:
    """`value` as a positive Decimal of at most the currency's minor-unit decimals, quantized to them.

    "25.000" usd is accepted as 25.00 (same value); "25.001" usd and "10.5" jpy are refused, since
    no payment can be made in a fraction of a cent or yen.
    """
    places = minor_units(currency)
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise InvalidAmountError(f"amount must be a decimal string or Decimal, got {type(value).__name__}")
    amount = plain_decimal(value) if isinstance(value, str) else Decimal(value)
    if not amount.is_finite():
        raise InvalidAmountError(f"amount must be a finite number, got {amount}")
    if amount <= 0:
        raise InvalidAmountError(f"amount must be positive, got {amount}")
    if (Fraction(amount) * 10**places).denominator != 1:
        raise InvalidAmountError(
            f"amount {amount} has more decimals than {currency.lower()} allows ({places})"
        )
    # Enough precision that quantize never rounds (or raises) for large amounts.
    context = Context(prec=max(28, amount.adjusted() + places + 2))
    return amount.quantize(Decimal(1).scaleb(-places), context=context)


def to_base_units(fiat_amount: Decimal, rate: Decimal, decimals: int) -> int:
    """ceil(fiat_amount / rate * 10**decimals), exactly: rounding up is in the merchant's favour."""
    exact = Fraction(fiat_amount) * 10**decimals / Fraction(rate)
    return -(-exact.numerator // exact.denominator)


async def make_quote(
    source: PriceSource,
    fiat_amount: Decimal | int | str,
    currency: str,
    asset: str,
    decimals: int,
    lock_seconds: int = DEFAULT_LOCK_SECONDS,
    now: datetime | None = None,
) -> Quote:
    """Prices `fiat_amount` of `currency` in `asset` (with `decimals`) at `source`'s current rate."""
    amount = parse_fiat_amount(fiat_amount, currency)
    asset, currency = normalize_pair(asset, currency)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS:
        raise SluiceValueError(f"asset decimals must be an int in [0, {MAX_DECIMALS}], got {decimals!r}")
    if isinstance(lock_seconds, bool) or not isinstance(lock_seconds, int) or lock_seconds <= 0:
        raise SluiceValueError(f"lock_seconds must be a positive int, got {lock_seconds!r}")
    created_at = require_aware(now or utcnow(), "now")
    rate = await source.rate(asset, currency)
    _check_rate(rate, asset, currency)
    base_units = to_base_units(amount, rate.value, decimals)
    if base_units > MAX_AMOUNT:
        raise InvalidAmountError(f"{amount} {currency} is more {asset} than a uint256 can hold")
    return Quote(
        fiat_amount=amount,
        currency=currency,
        asset=asset,
        decimals=decimals,
        rate=rate.value,
        source=rate.source,
        rate_observed_at=rate.observed_at,
        amount=base_units,
        created_at=created_at,
        locked_until=created_at + timedelta(seconds=lock_seconds),
    )


def _check_rate(rate: Rate, asset: str, currency: str) -> None:
    """A source answering for another pair is a bug that would misprice every payment: refuse it."""
    if not isinstance(rate, Rate) or rate.pair != (asset, currency):
        got = rate.pair if isinstance(rate, Rate) else type(rate).__name__
        raise InvalidPriceError(f"price source answered {got} when asked for {asset}/{currency}")
