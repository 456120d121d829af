"""The baseline of the API benchmark: FastAPI + asyncpg, one INSERT of an intent-sized row per request.

`uvicorn --factory bench_bare_app:create` (with benchmarks/ on PYTHONPATH), configured through:

    BENCH_DATABASE_URL   postgresql://… of the benchmark database (required; table BARE_TABLE exists)
    BENCH_DB_POOL_SIZE   connections per worker: min, and twice that at most (as the API's pool
                         size plus overflow); default 10

Same route and body as `POST /v1/payment_intents`, a Bearer header required (not looked up), a
pydantic body, a row of about the same size and shape (ids, amounts, 32-byte id, 65-byte signature,
JSONB splits, timestamps) and a small JSON answer: what any endpoint of this stack costs at least.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

BARE_TABLE = "bench_bare_intents"

#: What the benchmark runs once, before starting this app.
CREATE_TABLE = f"""
CREATE TABLE {BARE_TABLE} (
    id varchar(40) PRIMARY KEY,
    merchant_id varchar(40) NOT NULL,
    livemode boolean NOT NULL,
    status varchar(32) NOT NULL,
    network varchar(40) NOT NULL,
    chain_id integer NOT NULL,
    asset varchar(20) NOT NULL,
    token_address varchar(42),
    amount numeric(78, 0) NOT NULL,
    onchain_id bytea NOT NULL UNIQUE,
    nonce numeric(78, 0) NOT NULL,
    payout_address varchar(42) NOT NULL,
    splits jsonb NOT NULL,
    deadline timestamptz NOT NULL,
    signature bytea NOT NULL,
    client_secret varchar(80) NOT NULL,
    metadata jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""

INSERT = f"""
INSERT INTO {BARE_TABLE} (id, merchant_id, livemode, status, network, chain_id, asset, token_address,
    amount, onchain_id, nonce, payout_address, splits, deadline, signature, client_secret, metadata)
VALUES ($1, $2, false, 'requires_payment', $3, 31337, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, '{{}}')
RETURNING created_at
"""

TOKEN = "0x" + "33" * 20
PAYOUT = "0x" + "ab" * 20
SPLITS = json.dumps([{"recipient": "0x" + "44" * 20, "bps": 100, "kind": "platform"}])


class Body(BaseModel):
    network: str
    asset: str
    amount: str


def create() -> FastAPI:
    dsn = os.environ["BENCH_DATABASE_URL"]
    size = int(os.environ.get("BENCH_DB_POOL_SIZE", "10"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=size, max_size=2 * size)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)
    nonce = iter(range(1 << 62))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/payment_intents")
    async def create_intent(body: Body, request: Request) -> dict[str, Any]:
        if not request.headers.get("authorization", "").startswith("Bearer "):
            raise HTTPException(401, "no API key")
        intent_id = "pi_" + secrets.token_hex(12)
        deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=900)
        async with request.app.state.pool.acquire() as conn:
            created = await conn.fetchval(
                INSERT,
                intent_id,
                "mer_bench",
                body.network,
                body.asset,
                TOKEN,
                int(body.amount),
                os.urandom(32),
                next(nonce),
                PAYOUT,
                SPLITS,
                deadline,
                os.urandom(65),
                f"{intent_id}_secret_{secrets.token_hex(12)}",
            )
        return {
            "id": intent_id,
            "object": "payment_intent",
            "status": "requires_payment",
            "amount": body.amount,
            "asset": body.asset,
            "network": body.network,
            "created": int(created.timestamp()),
            "expires_at": int(deadline.timestamp()),
        }

    return app
