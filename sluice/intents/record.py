"""The one in-memory shape of a stored payment intent (`IntentRecord`) and of a quote (`QuoteRecord`).

Every intent the API, the jobs and the indexers handle is an IntentRecord loaded by
`sluice.intents.repository` (or, for a new one, built by the create path before it is stored): plain
slots with the names and values of `sluice.models.PaymentIntent`'s columns (the ORM class declares the
table; tests compare the two field by field). ORM instances cost a third of the indexer's Python time
per intent in instrumentation, and two shapes meant two of everything that reads them. The views
(`sluice.intents.views.present`), the transitions and the rails take records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sluice import jsoncodec


@dataclass(slots=True, eq=False)
class IntentRecord:
    id: str
    merchant_id: str
    livemode: bool
    status: str
    capture_method: str
    rail: str
    payment_method_types: list[str]
    deposit_address: str | None
    stray_deposits: int
    network: str
    chain_id: int
    asset: str
    token_address: str | None
    decimals: int
    amount: int
    amount_received: int
    amount_capturable: int
    amount_refunded: int
    onchain_id: bytes
    nonce: int
    contract_address: str
    payer: str | None
    payout_address: str
    splits: list[dict[str, Any]]
    deadline: datetime
    reclaim_after: datetime | None
    allow_partial: bool
    signature: bytes
    client_secret: str
    quote_id: str | None
    description: str | None
    metadata_: dict[str, str]
    expires_at: datetime
    canceled_at: datetime | None
    cancellation_reason: str | None
    updated_at: datetime
    created_at: datetime


#: IntentRecord's fields in order, as (column name, "money" | "json" | None) of PaymentIntent's columns:
#: Money columns (NUMERIC) and JSON columns are read as text (`sluice.intents.repository.intents.
#: RECORD_SELECT`). Written out rather than derived from the model, so that the indexer does not import
#: SQLAlchemy; a test derives it from the model and compares.
RECORD_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("id", None),
    ("merchant_id", None),
    ("livemode", None),
    ("status", None),
    ("capture_method", None),
    ("rail", None),
    ("payment_method_types", "json"),
    ("deposit_address", None),
    ("stray_deposits", None),
    ("network", None),
    ("chain_id", None),
    ("asset", None),
    ("token_address", None),
    ("decimals", None),
    ("amount", "money"),
    ("amount_received", "money"),
    ("amount_capturable", "money"),
    ("amount_refunded", "money"),
    ("onchain_id", None),
    ("nonce", "money"),
    ("contract_address", None),
    ("payer", None),
    ("payout_address", None),
    ("splits", "json"),
    ("deadline", None),
    ("reclaim_after", None),
    ("allow_partial", None),
    ("signature", None),
    ("client_secret", None),
    ("quote_id", None),
    ("description", None),
    ("metadata", "json"),
    ("expires_at", None),
    ("canceled_at", None),
    ("cancellation_reason", None),
    ("updated_at", None),
    ("created_at", None),
)
_MONEY = tuple(i for i, (_, kind) in enumerate(RECORD_COLUMNS) if kind == "money")
_JSON = tuple(i for i, (_, kind) in enumerate(RECORD_COLUMNS) if kind == "json")


def record_of(values: Any) -> IntentRecord:
    """An IntentRecord from a row of RECORD_SELECT: Money (decimal text) as int, as the ORM's Money type
    loads it; JSON decoded with the standard library (exact for any number, as the ORM's codec)."""
    row = list(values)
    for i in _MONEY:
        if row[i] is not None:
            row[i] = int(row[i])
    for i in _JSON:
        if row[i] is not None:
            row[i] = jsoncodec.loads(row[i])
    return IntentRecord(*row)


@dataclass(slots=True, frozen=True)
class QuoteRecord:
    """A quote's columns as a plain object (`sluice.models.Quote` declares the table)."""

    id: str
    merchant_id: str
    fiat_amount: Decimal
    currency: str
    network: str
    asset: str
    decimals: int
    rate: Decimal
    source: str
    amount: int
    locked_until: datetime
    created_at: datetime


def quote_record_of(values: Any) -> QuoteRecord:
    """A QuoteRecord from a row of QUOTE_SELECT (amount as decimal text)."""
    row = list(values)
    row[9] = int(row[9])
    return QuoteRecord(*row)
