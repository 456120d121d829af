"""A payment intent's columns as a plain object, for code that handles thousands of intents at once.

The indexer loads, moves and presents every intent its events touch. As ORM instances each attribute
read and write goes through SQLAlchemy's instrumentation, about a third of the indexer's Python time
per intent; these are plain slots with the same names and values as `PaymentIntent`'s (tests compare
the two field by field), loaded by the indexer's own SELECT and written back by set-based UPDATEs.
The views (`present_json`), the state machine (`transition`) and the outbox (`intent_event`) take
either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sluice import jsoncodec

if TYPE_CHECKING:  # the ORM stays off the indexer's imports (SQLAlchemy: ~0.3 s of its start-up)
    from sluice.models.payment_intent import PaymentIntent


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
#: Money columns (NUMERIC) and JSON columns are read as text. Written out rather than derived from the
#: model, so that this module does not import SQLAlchemy; a test derives it from the model and compares.
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
#: The SELECT list `record_of` reads. JSON and Money columns come as text and are decoded by
#: `record_of`, in the thread that builds the records rather than on the event loop that receives the
#: rows (where asyncpg would build a Decimal per amount, for `int` to take apart again).
RECORD_SELECT = ", ".join(
    f'"{name}"::text AS "{name}"' if kind is not None else f'"{name}"' for name, kind in RECORD_COLUMNS
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
    """A quote's columns as a plain object (what the views read of `Quote`), loaded by the indexer
    without the ORM for the payloads of fiat-priced intents."""

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


#: The SELECT list of `QuoteRecord`s, in field order (`amount` as int, as the ORM's Money type loads it).
QUOTE_SELECT = (
    "id, merchant_id, fiat_amount, currency, network, asset, decimals, rate, source, amount::text, "
    "locked_until, created_at"
)


def quote_record_of(values: Any) -> QuoteRecord:
    row = list(values)
    row[9] = int(row[9])
    return QuoteRecord(*row)


_SELECT_QUOTES = f"SELECT {QUOTE_SELECT} FROM quotes WHERE id = ANY($1::varchar[])"  # noqa: S608 (constant)


async def quotes_of(conn: asyncpg.Connection, intents: Iterable[AnyIntent]) -> dict[str, QuoteRecord]:
    """The quotes of fiat-priced intents by id, in one query on `conn`: event payloads carry the quote
    as GET /v1/payment_intents/{id} does (the indexer's batches and the expiry job)."""
    ids = sorted({i.quote_id for i in intents if i.quote_id})
    if not ids:
        return {}
    rows = await conn.fetch(_SELECT_QUOTES, ids)
    return {row["id"]: quote_record_of(row) for row in rows}


if TYPE_CHECKING:
    from typing import TypeAlias

    import asyncpg

    from sluice.models.quote import Quote

    #: What the views, the state machine and the outbox take: an ORM intent or its plain record.
    AnyIntent: TypeAlias = PaymentIntent | IntentRecord
    #: The same for quotes.
    AnyQuote: TypeAlias = Quote | QuoteRecord
