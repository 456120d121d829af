"""Storing a new intent in one round trip: the intent, its `payment_intent.created` event (the webhook
outbox) and its audit row in one SQL statement, sent on the raw asyncpg connection.

Creating intents is the API's hot path. Through the ORM it took a BEGIN, a flush per object and a
COMMIT, each a round trip with SQLAlchemy's unit of work and execution layer around it: about half the
request's CPU time. Here one statement of data-modifying CTEs inserts the three rows as one implicit
transaction (all or none), and asyncpg reuses its prepared statement.

The statement also re-checks what the intent was signed with: the caller's key is still valid and the
merchant's payout address and fee override are the ones the caller's account said (the account may
come from the API's key cache). If not, nothing is inserted and `insert_created` returns False.

The column lists come from the models, so a new column is written too (with the value of the object's
attribute); Python-side column defaults are not applied here: the caller sets every value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import make_transient_to_detached

from sluice.db.base import Base, Money
from sluice.merchants.service import Account
from sluice.models.audit import AuditLog
from sluice.models.event import Event
from sluice.models.payment_intent import PaymentIntent
from sluice.models.quote import Quote

M = TypeVar("M", bound=Base)


def detached(model: type[M], **values: Any) -> M:
    """An instance holding `values` as if loaded from its row, detached from any session: what the ORM
    builds from a SELECT, without the change tracking that its constructor sets up for every
    attribute. Give every column: a missing one would be expired, and unreadable."""
    instance: M = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    return instance


class JsonText(str):
    """A value for a JSONB column that is JSON text already (so it is not serialized again)."""

    __slots__ = ()


class _Insert:
    """`INSERT INTO <table> (<columns>) SELECT $n::<type>, … FROM <source>` for one model's columns."""

    def __init__(self, model: type[Base], *, skip: Sequence[str] = ()) -> None:
        dialect = postgresql.dialect()
        mapper = model.__mapper__
        self.model = model
        self.table = mapper.local_table.name  # type: ignore[attr-defined]
        self.attributes: list[tuple[str, ColumnElement[Any]]] = [
            (attr.key, attr.columns[0])
            for attr in mapper.column_attrs
            if attr.columns[0].identity is None and attr.columns[0].name not in skip
        ]
        # VARCHAR without its length: a cast to VARCHAR(n) would truncate silently, where storing a
        # longer value into the column fails as it should.
        self.casts = [
            "VARCHAR" if isinstance(column.type, String) else column.type.compile(dialect=dialect)
            for _, column in self.attributes
        ]
        self.json = [isinstance(column.type, JSONB) for _, column in self.attributes]

    def sql(self, first: int, source: str | None = None) -> str:
        """With `source`, one row per row of it (none when it is empty); else one row."""
        names = ", ".join(column.name for _, column in self.attributes)
        values = ", ".join(f"${first + i}::{cast}" for i, cast in enumerate(self.casts))
        # Names and types from the models, values as parameters: nothing from a request in the text.
        if source is None:
            return f"INSERT INTO {self.table} ({names}) VALUES ({values})"  # noqa: S608
        return f"INSERT INTO {self.table} ({names}) SELECT {values} FROM {source}"  # noqa: S608

    def values_of(self, obj: object) -> list[Any]:
        """The parameters from an object's mapped attributes."""
        return self._encode([getattr(obj, key) for key, _ in self.attributes])

    def values_from(self, row: Mapping[str, Any]) -> list[Any]:
        """The parameters from a dict by column name (absent: NULL)."""
        return self._encode([row.get(column.name) for _, column in self.attributes])

    def _encode(self, values: list[Any]) -> list[Any]:
        for i, is_json in enumerate(self.json):
            value = values[i]
            if is_json and value is not None and not isinstance(value, JsonText):
                values[i] = json.dumps(value, separators=(",", ":"))
        return values


INTENTS = _Insert(PaymentIntent)
EVENTS = _Insert(Event, skip=("dispatched_at",))
AUDIT_LOGS = _Insert(AuditLog)
QUOTES = _Insert(Quote)

_GUARD = """
    SELECT 1 FROM api_keys k JOIN merchants m ON m.id = k.merchant_id
    WHERE k.id = $1 AND k.merchant_id = $2
      AND (k.revoked_at IS NULL OR k.revoked_at > $3) AND (k.expires_at IS NULL OR k.expires_at > $3)
      AND m.payout_address IS NOT DISTINCT FROM $4 AND m.fee_bps IS NOT DISTINCT FROM $5"""
_FIRST_INTENT = 6
_FIRST_EVENT = _FIRST_INTENT + len(INTENTS.attributes)
_FIRST_AUDIT = _FIRST_EVENT + len(EVENTS.attributes)

INSERT_CREATED = f"""
WITH caller AS ({_GUARD}
), intent AS (
    {INTENTS.sql(_FIRST_INTENT, "caller")}
    RETURNING id
), event AS (
    {EVENTS.sql(_FIRST_EVENT, "intent")}
), audit AS (
    {AUDIT_LOGS.sql(_FIRST_AUDIT, "intent")}
)
SELECT count(*) FROM intent"""  # noqa: S608

INSERT_QUOTE = QUOTES.sql(1)

SELECT_QUOTE = "SELECT * FROM quotes WHERE id = $1 AND merchant_id = $2"


async def insert_created(
    conn: Any,
    account: Account,
    now: datetime,
    intent: PaymentIntent,
    event: Mapping[str, Any],
    audit: Mapping[str, Any],
) -> bool:
    """Inserts the intent, its event row and its audit row (dicts by column name) if the caller's key
    is valid at `now` and the merchant's terms are still the account's; False when they are not."""
    principal = account.principal
    inserted = await conn.fetchval(
        INSERT_CREATED,
        principal.api_key_id,
        principal.merchant_id,
        now,
        account.payout_address,
        account.fee_bps,
        *INTENTS.values_of(intent),
        *EVENTS.values_from(event),
        *AUDIT_LOGS.values_from(audit),
    )
    return bool(inserted)


async def insert_quote(conn: Any, quote: Quote) -> None:
    """Stores a quote built in Python (every attribute set, the id included)."""
    await conn.execute(INSERT_QUOTE, *QUOTES.values_of(quote))


async def load_quote(conn: Any, merchant_id: str, quote_id: str) -> Quote | None:
    """One of the merchant's quotes, detached (not in any session), or None."""
    row = await conn.fetchrow(SELECT_QUOTE, quote_id, merchant_id)
    if row is None:
        return None
    return detached(
        Quote,
        **{
            key: int(row[column.name]) if isinstance(column.type, Money) else row[column.name]
            for key, column in QUOTES.attributes
        },
    )
