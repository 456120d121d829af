"""A small client of the Stacks Blockchain API (the open-source API most Stacks apps use): the
endpoints the rail and `sluice deploy` need, with the JSON shapes of the API's OpenAPI document."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from sluice.errors import NetworkError
from sluice.rails.stacks.clarity import ClarityValue, deserialize_hex


class StacksApiError(NetworkError):
    """Raised when the Stacks API is unreachable or answers with an error."""

    code = "stacks_api_error"


class StacksApi:
    """Async client of one Stacks API base URL; pass `client` to share a connection pool."""

    def __init__(
        self, base_url: str, *, client: httpx.AsyncClient | None = None, timeout: float = 30.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> StacksApi:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._client.request(method, self.base_url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise StacksApiError(f"cannot reach the Stacks API at {self.base_url}: {exc}") from exc
        return response

    async def _json(self, path: str, *, allow_404: bool = False) -> Any:
        response = await self._request("GET", path)
        if allow_404 and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise StacksApiError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    async def info(self) -> dict[str, Any]:
        """`/v2/info`: `network_id` (the chain id), `stacks_tip_height`, `burn_block_height`, …"""
        data: dict[str, Any] = await self._json("/v2/info")
        return data

    async def account_nonce(self, principal: str) -> int:
        """The next nonce of `principal` (`/v2/accounts/{principal}`)."""
        data = await self._json(f"/v2/accounts/{principal}?proof=0")
        return int(data["nonce"])

    async def fee_rate(self) -> int:
        """Micro-STX per byte (`/v2/fees/transfer`)."""
        return int(await self._json("/v2/fees/transfer"))

    async def contract_source(self, contract_id: str) -> str | None:
        """A deployed contract's source, or None when nothing is deployed under that id."""
        address, _, name = contract_id.partition(".")
        data = await self._json(f"/v2/contracts/source/{address}/{name}?proof=0", allow_404=True)
        return None if data is None else str(data["source"])

    async def call_read_only(
        self, contract_id: str, function: str, args: Sequence[ClarityValue], sender: str
    ) -> ClarityValue:
        """A read-only function's result (`POST /v2/contracts/call-read/…`)."""
        address, _, name = contract_id.partition(".")
        response = await self._request(
            "POST",
            f"/v2/contracts/call-read/{address}/{name}/{function}",
            json={"sender": sender, "arguments": [a.hex() for a in args]},
        )
        data = (
            response.json() if response.status_code < 400 else {"okay": False, "cause": response.text[:300]}
        )
        if not data.get("okay"):
            raise StacksApiError(f"{contract_id}::{function} failed: {data.get('cause')}")
        return deserialize_hex(str(data["result"]))

    async def broadcast(self, transaction: bytes) -> str:
        """Submits a signed transaction (`POST /v2/transactions`); returns its 0x-prefixed id."""
        response = await self._request(
            "POST",
            "/v2/transactions",
            content=transaction,
            headers={"content-type": "application/octet-stream"},
        )
        if response.status_code >= 400:
            raise StacksApiError(f"the node rejected the transaction: {response.text[:500]}")
        tx_id = str(response.json())
        return tx_id if tx_id.startswith("0x") else "0x" + tx_id

    async def transaction(self, tx_id: str) -> dict[str, Any] | None:
        """`/extended/v1/tx/{tx_id}` with its events, or None while the API does not know it."""
        data: dict[str, Any] | None = await self._json(
            f"/extended/v1/tx/{tx_id}?event_limit=200", allow_404=True
        )
        return data

    async def contract_events(
        self, contract_id: str, *, offset: int = 0, limit: int = 50
    ) -> list[dict[str, Any]]:
        """A page of `/extended/v1/contract/{contract_id}/events` (newest first, as the API orders)."""
        data = await self._json(f"/extended/v1/contract/{contract_id}/events?offset={offset}&limit={limit}")
        return list(data["results"])

    async def wait_for(self, tx_id: str, *, timeout: float = 600.0, poll: float = 1.0) -> dict[str, Any]:
        """The transaction once it is in a block; raises when it failed or took longer than `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            tx = await self.transaction(tx_id)
            status = None if tx is None else tx.get("tx_status")
            if status == "success":
                assert tx is not None
                return tx
            if status not in (None, "pending"):
                raise StacksApiError(f"transaction {tx_id} failed: {status} {tx and tx.get('tx_result')}")
            if loop.time() > deadline:
                raise StacksApiError(f"transaction {tx_id} not confirmed within {timeout:.0f} s")
            await asyncio.sleep(poll)
