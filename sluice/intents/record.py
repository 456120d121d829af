"""A payment intent's columns as a plain object, for code that handles thousands of intents at once.

The indexer loads, moves and presents every intent its events touch. As ORM instances each attribute
read and write goes through SQLAlchemy's instrumentation, about a third of the indexer's Python time
per intent; these are plain slots with the same names and values as `PaymentIntent`'s (tests compare
the two field by field), loaded by the indexer's own SELECT and written back by set-based UPDATEs.
The views (`present_json`), the state machine (`transition`) and the outbox (`intent_event`) take
either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy import inspect as sa_inspect

from sluice.db.base import Money
from sluice.models.payment_intent import PaymentIntent


@dataclass(slots=True, eq=False)
class IntentRecord:
    id: str
    merchant_id: str
    livemode: bool
    status: str
    capture_method: str
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


def _columns() -> tuple[tuple[str, str | None], ...]:
    mapper = sa_inspect(PaymentIntent)
    out = []
    for f in fields(IntentRecord):
        column = mapper.column_attrs[f.name].columns[0]
        kind = (
            "money" if isinstance(column.type, Money) else "json" if isinstance(column.type, JSON) else None
        )
        out.append((column.name, kind))
    return tuple(out)


#: IntentRecord's fields in order, as (column name, "money" | "json" | None) of PaymentIntent's columns.
RECORD_COLUMNS = _columns()
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
            row[i] = json.loads(row[i])
    return IntentRecord(*row)


#: What the views, the state machine and the outbox take: an ORM intent or its plain record.
AnyIntent = PaymentIntent | IntentRecord
