"""Many open deposit addresses and a busy token on anvil: shared by the scale test
(tests/deposits/test_deposit_scale.py) and benchmarks/deposit_watch.py.

The intents are written straight into payment_intents (COPY) as the API stores deposit-address
intents; unrelated transfers are queued with automine off and mined in one block with the deposits.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from eth_utils import to_checksum_address

from sluice.ids import new_id, random_token

from indexer_env import MERCHANT, OWNER, PAYER, ChainEnv

TRANSFER = "0xa9059cbb"
GAS = 100_000


@dataclass(frozen=True)
class DepositIntent:
    id: str
    address: str
    amount: int


def make_deposit_intents(
    env: ChainEnv, db_url: str, merchant_id: str, count: int, amount: int = 1_000_000
) -> list[DepositIntent]:
    """`count` open USDC deposit-address intents (distinct addresses), stored in one COPY."""
    now = datetime.now(UTC).replace(microsecond=0)
    deadline = now + timedelta(days=1)
    out: list[DepositIntent] = []
    rows: list[tuple[Any, ...]] = []
    for _ in range(count):
        ref = os.urandom(32)
        address = to_checksum_address(hashlib.sha256(ref).digest()[:20])
        intent_id = new_id("pi")
        out.append(DepositIntent(intent_id, address, amount))
        rows.append(
            (
                intent_id, merchant_id, False, "requires_payment", "automatic", "evm-deposit",
                '["deposit_address"]', address, 0, "local", env.chain_id, "USDC", env.usdc.address, 6,
                amount, 0, 0, 0, ref, 0, address, None, MERCHANT, "[]", deadline, None, False, b"",
                f"{intent_id}_secret_{random_token(24)}", "{}", deadline, now, now,
            )
        )  # fmt: skip
    columns = (
        "id, merchant_id, livemode, status, capture_method, rail, payment_method_types, deposit_address, "
        "stray_deposits, network, chain_id, asset, token_address, decimals, amount, amount_received, "
        "amount_capturable, amount_refunded, onchain_id, nonce, contract_address, payer, payout_address, "
        "splits, deadline, reclaim_after, allow_partial, signature, client_secret, metadata, expires_at, "
        "created_at, updated_at"
    )
    with psycopg.connect(db_url, autocommit=True) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY payment_intents ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute("ANALYZE payment_intents")
    return out


def transfer_tx(token: str, sender: str, to: str, amount: int, nonce: int) -> dict[str, Any]:
    data = TRANSFER + to[2:].lower().rjust(64, "0") + format(amount, "064x")
    return {"from": sender, "to": token, "data": data, "gas": hex(GAS), "nonce": hex(nonce)}


def mine_block(env: ChainEnv, noise: int, deposits: list[tuple[str, int]]) -> float:
    """Queues `noise` unrelated USDC transfers and the `deposits` (address, amount), mines them in one
    block; returns the monotonic time the block was mined."""
    usdc = env.usdc.address
    # Explicit nonces: anvil answers a batch's sends concurrently.
    owner, payer = (
        int(n, 16)
        for n in env.rpc.batch(
            [("eth_getTransactionCount", [OWNER, "pending"]), ("eth_getTransactionCount", [PAYER, "pending"])]
        )
    )
    calls = [
        ("eth_sendTransaction", [transfer_tx(usdc, OWNER, "0x" + os.urandom(20).hex(), 1 + i, owner + i)])
        for i in range(noise)
    ]
    calls += [
        ("eth_sendTransaction", [transfer_tx(usdc, PAYER, a, amount, payer + i)])
        for i, (a, amount) in enumerate(deposits)
    ]
    env.rpc.batch(calls)
    env.rpc.call("evm_mine")
    return time.monotonic()


def prepare_chain(env: ChainEnv) -> None:
    """Automine off (blocks hold what the benchmark queues); OWNER holds USDC for the noise."""
    env.usdc.functions.mint(OWNER, 10**30).transact({"from": OWNER})
    env.rpc.call("evm_setAutomine", False)


async def wait_succeeded(db_url: str, intent_id: str, timeout: float = 30.0) -> float:
    """Polls the intent's status every 5 ms; returns the monotonic time it was seen succeeded."""
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = await conn.fetchval("SELECT status FROM payment_intents WHERE id = $1", intent_id)
            if status == "succeeded":
                return time.monotonic()
            await asyncio.sleep(0.005)
    finally:
        await conn.close()
    raise AssertionError(f"{intent_id} did not succeed within {timeout} s")


class RpcCounter:
    """Counts the indexer's JSON-RPC calls (each call of a batch) and HTTP requests by method."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.requests = 0

    def install(self) -> None:
        from indexer.rpc import RpcClient

        counter = self
        original_batch, original_call = RpcClient.batch, RpcClient.call

        async def batch(client: RpcClient, calls: Any) -> Any:
            counter.requests += 1
            counter.calls.update(method for method, _ in calls)
            return await original_batch(client, calls)

        async def call(client: RpcClient, method: str, params: Any) -> Any:
            counter.requests += 1
            counter.calls[method] += 1
            return await original_call(client, method, params)

        RpcClient.batch = batch  # type: ignore[method-assign]
        RpcClient.call = call  # type: ignore[method-assign]

    def snapshot(self) -> tuple[int, int]:
        return self.requests, sum(self.calls.values())


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": ordered[len(ordered) // 2], "p95": p95, "max": ordered[-1]}


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
