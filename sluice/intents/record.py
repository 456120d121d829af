"""A payment intent's columns as a plain object, for code that handles thousands of intents at once.

The indexer loads, moves and presents every intent its events touch. As ORM instances each attribute
read and write goes through SQLAlchemy's instrumentation, about a third of the indexer's Python time
per intent; these are plain slots with the same names and values as `PaymentIntent`'s (tests compare
the two field by field), loaded by the indexer's own SELECT and written back by set-based UPDATEs.
The views (`present_json`), the state machine (`transition`) and the outbox (`intent_event`) take
either.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

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


#: IntentRecord's fields in order, as (column name, is Money) of PaymentIntent's mapped columns.
RECORD_COLUMNS: tuple[tuple[str, bool], ...] = tuple(
    (
        sa_inspect(PaymentIntent).column_attrs[f.name].columns[0].name,
        isinstance(sa_inspect(PaymentIntent).column_attrs[f.name].columns[0].type, Money),
    )
    for f in fields(IntentRecord)
)
#: Positions of the Money columns (NUMERIC, loaded as Decimal: kept as int like the ORM's Money type).
_MONEY = tuple(i for i, (_, money) in enumerate(RECORD_COLUMNS) if money)


def record_of(values: Any) -> IntentRecord:
    """An IntentRecord from a row of the columns of RECORD_COLUMNS, in order."""
    row = list(values)
    for i in _MONEY:
        if row[i] is not None:
            row[i] = int(row[i])
    return IntentRecord(*row)


#: What the views, the state machine and the outbox take: an ORM intent or its plain record.
AnyIntent = PaymentIntent | IntentRecord
