"""Types shared by the API schemas: amounts as decimal strings, addresses, list envelopes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from sluice.errors import InvalidAmountError
from sluice.pricing.quotes import PLAIN_DECIMAL_PATTERN, plain_decimal

MAX_UINT256 = 2**256 - 1
_DIGITS = re.compile(r"^[0-9]+$")


def _base_units(value: Any) -> int:
    """An amount in base units: a JSON integer or a string of digits; no sign, no decimals, no floats."""
    if isinstance(value, bool | float):
        raise ValueError("amounts are integers in base units (or strings of digits), never floats")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.match(value):
        number = int(value)
    elif isinstance(value, str):
        raise ValueError(f"{value!r} is not a whole number of base units (no sign, decimals or exponent)")
    else:
        raise ValueError("amount must be an integer or a string of digits")
    if number <= 0:
        raise ValueError("amount must be positive")
    if number > MAX_UINT256:
        raise ValueError("amount does not fit in uint256")
    return number


def _decimal(value: Any) -> Decimal:
    """A fiat amount: a plain decimal string (sluice.pricing.quotes.plain_decimal), never a float."""
    if not isinstance(value, str):
        raise ValueError('decimal amounts are strings like "25.00", never numbers')
    try:
        return plain_decimal(value)
    except InvalidAmountError as exc:
        raise ValueError(str(exc)) from None


BaseUnits = Annotated[
    int,
    BeforeValidator(_base_units),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]+$"}],
            "examples": ["25000000"],
        }
    ),
]
DecimalString = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    WithJsonSchema({"type": "string", "pattern": PLAIN_DECIMAL_PATTERN, "examples": ["25.00"]}),
]


class Strict(BaseModel):
    """Request bodies reject unknown fields."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class ListResponse(BaseModel, Generic[T]):
    object: Literal["list"] = "list"
    data: list[T]
    has_more: bool
    url: str


MetadataDict = Annotated[dict[str, str], Field(default_factory=dict)]


#: 9999-12-31T23:59:59Z, the last second a datetime (and so a `created[…]` filter) can hold.
MAX_UNIX_TIME = 253_402_300_799


def from_unix(value: int | None) -> datetime | None:
    """A `created[gte]`-style Unix-seconds query parameter as an aware UTC datetime."""
    return None if value is None else datetime.fromtimestamp(value, UTC)
