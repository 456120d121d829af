"""The create path's statements: a new intent, its `payment_intent.created` event (the webhook outbox)
and its audit row in one SQL statement, sent on the raw asyncpg connection; new quotes.

Creating intents is the API's hot path. Through the ORM it took a BEGIN, a flush per object and a
COMMIT, each a round trip with SQLAlchemy's unit of work and execution layer around it: about half the
request's CPU time. Here one statement of data-modifying CTEs inserts the three rows as one implicit
transaction (all or none), and asyncpg reuses its prepared statement.

The statement also re-checks what the intent was signed with: the caller's key is still valid and the
merchant's payout address and fee override are the ones the caller's account said (the account may
come from the API's key cache). If not, nothing is inserted and `insert_created` returns False.

The column lists come from the models, so a new column is written too (with the value of the record's
attribute of the same name); Python-side column defaults are not applied here: the caller sets every
value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import JSON, ColumnElement, String
from sqlalchemy.dialects import postgresql

from sluice import jsoncodec
from sluice.db.base import Base
from sluice.intents.record import IntentRecord, QuoteRecord
from sluice.merchants.service import Account
from sluice.models.audit import AuditLog
from sluice.models.event import Event
from sluice.models.payment_intent import PaymentIntent
from sluice.models.quote import Quote

log = structlog.get_logger(__name__)


class JsonText(str):
    """A value for a json/jsonb column that is JSON text already (so it is not serialized again)."""

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
        self.json = [isinstance(column.type, JSON) for _, column in self.attributes]

    @property
    def names(self) -> str:
        return ", ".join(column.name for _, column in self.attributes)

    def sql(self, first: int, source: str | None = None) -> str:
        """With `source`, one row per row of it (none when it is empty); else one row."""
        names = self.names
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
                values[i] = jsoncodec.dumps(value)
        return values


INTENTS = _Insert(PaymentIntent)
EVENTS = _Insert(Event, skip=("dispatched_at",))
AUDIT_LOGS = _Insert(AuditLog)
QUOTES = _Insert(Quote)

_GUARD = """
    SELECT 1 FROM api_keys k JOIN merchants m ON m.id = k.merchant_id
    WHERE k.id = $1 AND k.merchant_id = $2
      AND (k.revoked_at IS NULL OR k.revoked_at > $3) AND (k.expires_at IS NULL OR k.expires_at > $3)
      AND m.payout_addresses = $4::jsonb AND m.fee_bps IS NOT DISTINCT FROM $5
      AND m.status = 'active'"""
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

#: Types of the guard's five parameters, then the intent's, the event's and the audit row's.
_ROW_TYPES = [
    "VARCHAR", "VARCHAR", "TIMESTAMP WITH TIME ZONE", "JSONB", "INTEGER",
    *INTENTS.casts, *EVENTS.casts, *AUDIT_LOGS.casts,
]  # fmt: skip
#: Index of the intent's id in a row of parameters.
_ID = _FIRST_INTENT - 1 + [key for key, _ in INTENTS.attributes].index("id")


def _columns(insert: _Insert, first: int) -> str:
    return ", ".join(f"c{first + i}" for i in range(len(insert.attributes)))


#: INSERT_CREATED for many rows: each parameter is the array of that column over the rows.
INSERT_CREATED_MANY = f"""
WITH caller AS (
    SELECT r.* FROM unnest({", ".join(f"${i + 1}::{cast}[]" for i, cast in enumerate(_ROW_TYPES))})
        AS r({", ".join(f"c{i + 1}" for i in range(len(_ROW_TYPES)))})
    JOIN api_keys k ON k.id = r.c1 AND k.merchant_id = r.c2
    JOIN merchants m ON m.id = k.merchant_id
    WHERE (k.revoked_at IS NULL OR k.revoked_at > r.c3) AND (k.expires_at IS NULL OR k.expires_at > r.c3)
      AND m.payout_addresses = r.c4 AND m.fee_bps IS NOT DISTINCT FROM r.c5
      AND m.status = 'active'
), intent AS (
    INSERT INTO {INTENTS.table} ({INTENTS.names}) SELECT {_columns(INTENTS, _FIRST_INTENT)} FROM caller
    RETURNING id
), event AS (
    INSERT INTO {EVENTS.table} ({EVENTS.names}) SELECT {_columns(EVENTS, _FIRST_EVENT)} FROM caller
), audit AS (
    INSERT INTO {AUDIT_LOGS.table} ({AUDIT_LOGS.names})
    SELECT {_columns(AUDIT_LOGS, _FIRST_AUDIT)} FROM caller
)
SELECT id FROM intent"""  # noqa: S608

INSERT_QUOTE = QUOTES.sql(1)


async def insert_created(
    conn: Any,
    account: Account,
    now: datetime,
    intent: IntentRecord,
    event: Mapping[str, Any],
    audit: Mapping[str, Any],
) -> bool:
    """Inserts the intent, its event row and its audit row (dicts by column name) if the caller's key
    is valid at `now` and the merchant's terms are still the account's; False when they are not."""
    inserted = await conn.fetchval(INSERT_CREATED, *_created_row(account, now, intent, event, audit))
    return bool(inserted)


def _created_row(
    account: Account, now: datetime, intent: IntentRecord, event: Mapping[str, Any], audit: Mapping[str, Any]
) -> list[Any]:
    """The parameters of INSERT_CREATED (and one row of INSERT_CREATED_MANY)."""
    principal = account.principal
    return [
        principal.api_key_id,
        principal.merchant_id,
        now,
        jsoncodec.dumps(account.payout_addresses),
        account.fee_bps,
        *INTENTS.values_of(intent),
        *EVENTS.values_from(event),
        *AUDIT_LOGS.values_from(audit),
    ]


class CreatedWriter:
    """Writes the new intents of concurrent requests together: while one statement is in flight, the
    rows that arrive wait and go in the next, all in one INSERT_CREATED_MANY (one round trip, one
    commit, one execution of the statement's plan for the lot). No delay is added: a request alone
    is written at once, and a batch is as large as the load makes it (at most `max_batch`).

    Each row keeps its own guard (key still valid, merchant terms unchanged): `write` answers False
    for the rows it stopped. If the statement fails, each row of the batch is written alone, so one
    bad row fails only its own request.
    """

    def __init__(self, pool: Any, *, max_batch: int = 64) -> None:
        self.pool = pool
        self.max_batch = max_batch
        self._waiting: list[tuple[list[Any], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(
        self,
        account: Account,
        now: datetime,
        intent: IntentRecord,
        event: Mapping[str, Any],
        audit: Mapping[str, Any],
    ) -> bool:
        """Stores the intent with its event and audit rows (as `insert_created`); False if stopped by
        the guard."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((_created_row(account, now, intent, event, audit), done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                await self._write_batch(batch)
        finally:
            self._writer = None

    async def _write_batch(self, batch: list[tuple[list[Any], asyncio.Future[bool]]]) -> None:
        try:
            async with self.pool.acquire() as conn:
                if len(batch) == 1:
                    row = batch[0][0]
                    stored = {row[_ID]} if await conn.fetchval(INSERT_CREATED, *row) else set()
                else:
                    columns = [list(column) for column in zip(*(row for row, _ in batch), strict=True)]
                    stored = {record[0] for record in await conn.fetch(INSERT_CREATED_MANY, *columns)}
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], error=exc)
                return
            log.warning("intent_batch_failed_writing_rows_alone", rows=len(batch), exc_info=True)
            for row, done in batch:
                try:
                    async with self.pool.acquire() as conn:
                        _settle(done, bool(await conn.fetchval(INSERT_CREATED, *row)))
                except Exception as exc:
                    _settle(done, error=exc)
            return
        for row, done in batch:
            _settle(done, row[_ID] in stored)


def _settle(done: asyncio.Future[bool], value: bool = False, *, error: BaseException | None = None) -> None:
    if done.done():  # the request was cancelled meanwhile
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(value)


async def insert_quote(conn: Any, quote: QuoteRecord) -> None:
    """Stores a new quote (every attribute set, the id included)."""
    await conn.execute(INSERT_QUOTE, *QUOTES.values_of(quote))
