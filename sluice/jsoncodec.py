"""The one JSON codec for what Sluice stores and sends (jsonb columns, outbox payloads, webhook bodies).

Compact UTF-8 text from orjson (~5x the standard library; the indexer serialises thousands of payloads
a second), the standard library for what orjson refuses (integers beyond 64 bits) and for decoding
(exact for any number, as PostgreSQL's jsonb keeps them).
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text of `value`."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError (e.g. an int beyond 64 bits)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def dumps_bytes(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes (HTTP bodies)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def loads(text: str | bytes) -> Any:
    """The value of JSON text, numbers exact."""
    return json.loads(text)
