"""Outbox rows (`events`): one INSERT for one event, one binary COPY for many, in the caller's
transaction on an asyncpg connection. The events themselves are `sluice.events.outbox.NewEvent`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg

from sluice import jsoncodec
from sluice.events.outbox import NewEvent

#: The outbox rows' columns, in the order of `outbox_rows`' tuples.
OUTBOX_COLUMNS = ("id", "merchant_id", "livemode", "type", "object_id", "data", "request_id", "created_at")

_INSERT_ONE = (
    f"INSERT INTO events ({', '.join(OUTBOX_COLUMNS)}) "  # noqa: S608 (constant column names)
    "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)"
)


def outbox_rows(events: Iterable[NewEvent]) -> list[tuple[Any, ...]]:
    """The rows of `insert_outbox` (`OUTBOX_COLUMNS`), payloads serialised (pure: the indexer builds
    them in its worker thread)."""
    return [
        (
            event.id,
            event.merchant_id,
            event.livemode,
            str(event.type),
            event.object_id,
            jsoncodec.dumps(event.data()),
            event.request_id,
            event.created_at,
        )
        for event in events
    ]


async def insert_outbox(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Inserts `outbox_rows(...)` in the caller's transaction on `conn`: one row with one prepared
    INSERT, more with one binary COPY.

    COPY rather than an INSERT over arrays: asyncpg encodes an array element in ~1 µs (it inspects
    each one for nesting) and a COPY field in a fraction of that, and PostgreSQL reads the rows
    without building arrays; measured on the indexer's outbox (~2.8 KB payloads): ~80 µs a row
    instead of ~140, triggers included. COPY fires the statement triggers, with their transition
    tables, as an INSERT does (the events' confirmation roll-up)."""
    if len(rows) == 1:
        await conn.execute(_INSERT_ONE, *rows[0])
    elif rows:
        await conn.copy_records_to_table("events", records=rows, columns=OUTBOX_COLUMNS)


async def insert_events(conn: asyncpg.Connection, events: Iterable[NewEvent]) -> list[str]:
    """Inserts the events (`insert_outbox`); returns their ids."""
    batch = list(events)
    await insert_outbox(conn, outbox_rows(batch))
    return [event.id for event in batch]
