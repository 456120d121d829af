"""What the deposit tests drive: the API client and merchant key, the chain, and the database."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from sluice.chain.registry import Registry

from indexer_env import ChainEnv
from intents_fixtures import auth


@dataclass
class DepositEnv:
    chain: ChainEnv
    registry: Registry
    usdt: Any
    client: httpx.AsyncClient
    secret: str
    db_url: str

    async def create(self, **body: Any) -> dict[str, Any]:
        payload = {"network": "local", "asset": "USDC", "amount": "25000000"}
        payload.update({"payment_method_types": ["deposit_address"], **body})
        response = await self.client.post("/v1/payment_intents", json=payload, headers=auth(self.secret))
        assert response.status_code == 200, response.text
        return response.json()

    async def get(self, intent_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/payment_intents/{intent_id}", headers=auth(self.secret))
        assert response.status_code == 200, response.text
        return response.json()

    async def wait(self, intent_id: str, timeout: float = 20.0, **expected: str) -> dict[str, Any]:
        """The intent once its fields equal `expected` (fails after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            intent = await self.get(intent_id)
            if all(intent[k] == v for k, v in expected.items()):
                return intent
            if time.monotonic() > deadline:
                raise AssertionError(f"intent never reached {expected}: {intent}")
            await asyncio.sleep(0.1)

    async def event_types(self, intent_id: str) -> list[str]:
        conn = await asyncpg.connect(self.db_url)
        try:
            rows = await conn.fetch("SELECT type FROM events WHERE object_id = $1 ORDER BY seq", intent_id)
        finally:
            await conn.close()
        return [r["type"] for r in rows]

    async def entries(self, intent_id: str) -> list[tuple[str, str, str | None]]:
        conn = await asyncpg.connect(self.db_url)
        try:
            rows = await conn.fetch(
                "SELECT kind, amount::text, asset FROM ledger_entries WHERE payment_intent_id = $1 "
                "ORDER BY height, block_index",
                intent_id,
            )
        finally:
            await conn.close()
        return [tuple(r) for r in rows]

    def send_token(self, token: Any, sender: str, to: str, amount: int) -> None:
        tx = token.functions.transfer(to, amount).transact({"from": sender})
        assert self.chain.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1

    def send_native(self, sender: str, to: str, amount: int) -> None:
        tx = self.chain.w3.eth.send_transaction({"from": sender, "to": to, "value": amount})
        assert self.chain.w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
