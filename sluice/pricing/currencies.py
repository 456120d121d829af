"""Fiat currencies Sluice prices in, with their ISO 4217 minor units (decimals of the smallest coin)."""

from __future__ import annotations

from types import MappingProxyType

from sluice.errors import UnsupportedCurrencyError

#: Lower-case ISO 4217 code -> number of decimals. Zero-decimal currencies (jpy, krw…) cannot be
#: charged in fractions; three-decimal ones (bhd, kwd…) can be charged in thousandths.
_CODES_BY_MINOR_UNITS = {
    2: "usd eur gbp chf cad aud nzd sgd hkd cny inr brl mxn sek nok dkk pln czk huf ron try zar"
    " ils aed sar thb myr php idr twd uah ars cop pen ngn egp",
    0: "jpy krw vnd clp isk pyg ugx xof xaf",
    3: "bhd kwd jod omr tnd",
}
MINOR_UNITS: MappingProxyType[str, int] = MappingProxyType(
    {code: units for units, codes in _CODES_BY_MINOR_UNITS.items() for code in codes.split()}
)


def minor_units(currency: str) -> int:
    """Decimals allowed in an amount of `currency`; raises UnsupportedCurrencyError for unknown codes."""
    code = currency.strip().lower() if isinstance(currency, str) else ""
    try:
        return MINOR_UNITS[code]
    except KeyError:
        raise UnsupportedCurrencyError(
            f"unsupported currency {currency!r}; use a lower-case ISO 4217 code such as 'usd' or 'eur'"
        ) from None
