"""Claiming an idempotency key before a POST runs, storing its response after, pruning old keys.

The claim is its own committed transaction, so a concurrent duplicate sees it at once and is told
to wait (409) instead of running the request a second time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.clock import utcnow
from sluice.errors import IdempotencyConflictError, IdempotencyError
from sluice.models.idempotency import IdempotencyKey

#: How long a key is remembered; after that the same key starts afresh.
KEY_TTL = timedelta(hours=24)
#: The longest key accepted (the column's width).
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    """The first response to a request, to be replayed to its retries."""

    status: int
    #: The decoded JSON body; None for an empty body.
    body: Any


def request_hash(*parts: bytes) -> str:
    """sha256 over length-prefixed parts, so that two different requests cannot collide by concatenation."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def canonical_body(body: bytes) -> bytes:
    """The request body as it is understood, for comparing requests: a JSON document re-serialized with
    sorted keys and no whitespace, so that the same JSON sent with other spacing or key order is the
    same request (as at Stripe); anything that is not JSON as it came."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


class IdempotencyService:
    async def claim(
        self,
        session: AsyncSession,
        merchant_id: str,
        key: str,
        request_hash: str,
        *,
        now: datetime | None = None,
    ) -> StoredResponse | None:
        """Takes the key for this request (None: go ahead and run it), or the response to replay.

        Raises IdempotencyError when the key was used with another request, and
        IdempotencyConflictError while the request holding it is still running. The caller commits
        straight away so that concurrent duplicates see the claim.
        """
        now = now or utcnow()
        this_key = (IdempotencyKey.merchant_id == merchant_id, IdempotencyKey.key == key)
        # An expired key is free again.
        await session.execute(
            delete(IdempotencyKey)
            .where(*this_key, IdempotencyKey.created_at < now - KEY_TTL)
            .execution_options(synchronize_session=False)
        )
        # Twice: the holder may release the key (its request failed) between our insert and select.
        for _ in range(2):
            inserted = await session.execute(
                insert(IdempotencyKey)
                .values(merchant_id=merchant_id, key=key, request_hash=request_hash, created_at=now)
                .on_conflict_do_nothing(index_elements=[IdempotencyKey.merchant_id, IdempotencyKey.key])
                .returning(IdempotencyKey.key)
            )
            if inserted.scalar_one_or_none() is not None:
                return None
            row = (await session.execute(select(IdempotencyKey).where(*this_key))).scalar_one_or_none()
            if row is None:
                continue
            if row.request_hash != request_hash:
                raise IdempotencyError(
                    "this Idempotency-Key was already used with a different request (method, path, body "
                    "or API key mode); use a new key for a new request",
                    param="Idempotency-Key",
                )
            if row.completed_at is None or row.response_status is None:
                raise IdempotencyConflictError(
                    "a request with this Idempotency-Key is still being processed; retry shortly",
                    param="Idempotency-Key",
                )
            return StoredResponse(row.response_status, row.response_body)
        raise IdempotencyConflictError(
            "a request with this Idempotency-Key was being processed; retry shortly", param="Idempotency-Key"
        )

    async def complete(
        self,
        session: AsyncSession,
        merchant_id: str,
        key: str,
        status: int,
        body: Any,
        *,
        now: datetime | None = None,
    ) -> None:
        """Stores the response of the request that holds the key; retries replay it from now on."""
        await session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.merchant_id == merchant_id,
                IdempotencyKey.key == key,
                IdempotencyKey.completed_at.is_(None),
            )
            .values(response_status=status, response_body=body, completed_at=now or utcnow())
            .execution_options(synchronize_session=False)
        )

    async def release(self, session: AsyncSession, merchant_id: str, key: str) -> None:
        """Gives up an unfinished claim (the request failed), so that a retry runs the request again."""
        await session.execute(
            delete(IdempotencyKey)
            .where(
                IdempotencyKey.merchant_id == merchant_id,
                IdempotencyKey.key == key,
                IdempotencyKey.completed_at.is_(None),
            )
            .execution_options(synchronize_session=False)
        )

    async def prune(
        self, session: AsyncSession, *, older_than: timedelta = KEY_TTL, now: datetime | None = None
    ) -> int:
        """Deletes keys created more than `older_than` ago; returns how many."""
        cutoff = (now or utcnow()) - older_than
        result = await session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.created_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        return int(cast(CursorResult[Any], result).rowcount)


idempotency_service = IdempotencyService()


async def prune_idempotency_keys(session: AsyncSession, older_than: timedelta = KEY_TTL) -> int:
    """For the scheduled job: deletes keys older than `older_than` (24 h); the caller commits."""
    return await idempotency_service.prune(session, older_than=older_than)
