"""A small async client for the part of Solana's JSON-RPC the rail uses, over httpx.

Answers are the documented JSON shapes (https://solana.com/docs/rpc); transactions are fetched
base64-encoded and parsed with solders, so no instruction is decoded by hand. The client counts its
calls (`calls`): the rail's RPC cost is measured, not estimated.
"""

from __future__ import annotations

import base64
import itertools
from collections import Counter
from typing import Any

import httpx
from solders.hash import Hash
from solders.transaction import Transaction

from sluice.errors import NetworkError


class SolanaRpcError(NetworkError):
    """Raised when the node answers a JSON-RPC error (`rpc_code` is its code) or cannot be reached."""

    code = "solana_rpc_error"
    #: The gateway's upstream (the Solana node) failed, not the request.
    http_status = 502

    def __init__(self, message: str, *, rpc_code: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.rpc_code = rpc_code
        self.data = data


class SolanaRpc:
    """One node; `calls` counts requests by method."""

    def __init__(self, url: str, *, timeout: float = 30.0, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._ids = itertools.count(1)
        self.calls: Counter[str] = Counter()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, *params: Any) -> Any:
        """The `result` of one JSON-RPC call; raises SolanaRpcError with the node's error."""
        self.calls[method] += 1
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        try:
            response = await self._client.post(self.url, json=body)
            response.raise_for_status()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SolanaRpcError(f"Solana RPC {method} failed: {type(exc).__name__}") from exc
        if "error" in answer:
            error = answer["error"]
            raise SolanaRpcError(
                f"Solana RPC {method}: {error.get('message')}",
                rpc_code=error.get("code"),
                data=error.get("data"),
            )
        return answer["result"]

    async def latest_blockhash(self, commitment: str = "confirmed") -> tuple[Hash, int]:
        """(blockhash, last valid block height) for a new transaction."""
        result = await self.call("getLatestBlockhash", {"commitment": commitment})
        value = result["value"]
        return Hash.from_string(value["blockhash"]), int(value["lastValidBlockHeight"])

    async def send_transaction(self, tx: Transaction, *, skip_preflight: bool = False) -> str:
        """Submit a signed transaction; its base58 signature."""
        wire = base64.b64encode(bytes(tx)).decode()
        config = {"encoding": "base64", "skipPreflight": skip_preflight, "preflightCommitment": "confirmed"}
        return str(await self.call("sendTransaction", wire, config))

    async def signatures_for_address(
        self,
        address: str,
        *,
        commitment: str = "confirmed",
        limit: int = 1000,
        before: str | None = None,
        until: str | None = None,
    ) -> list[dict[str, Any]]:
        """Signature infos touching `address`, newest first (the node's order)."""
        config: dict[str, Any] = {"commitment": commitment, "limit": limit}
        if before:
            config["before"] = before
        if until:
            config["until"] = until
        return list(await self.call("getSignaturesForAddress", address, config))

    async def transaction(self, signature: str, *, commitment: str = "confirmed") -> dict[str, Any] | None:
        """The transaction with its status meta (base64 transaction), or None when unknown."""
        config = {"encoding": "base64", "commitment": commitment, "maxSupportedTransactionVersion": 0}
        result = await self.call("getTransaction", signature, config)
        return dict(result) if result is not None else None

    async def signature_statuses(self, signatures: list[str]) -> list[dict[str, Any] | None]:
        """Each signature's status (`confirmationStatus`, `slot`, `err`), None when unknown."""
        result = await self.call("getSignatureStatuses", signatures, {"searchTransactionHistory": True})
        return list(result["value"])

    async def slot(self, commitment: str = "confirmed") -> int:
        return int(await self.call("getSlot", {"commitment": commitment}))

    async def balance(self, address: str, commitment: str = "confirmed") -> int:
        """Lamports held by `address`."""
        return int((await self.call("getBalance", address, {"commitment": commitment}))["value"])

    async def token_account_balance(self, address: str, commitment: str = "confirmed") -> int | None:
        """Base units in token account `address`; None when the account does not exist."""
        try:
            result = await self.call("getTokenAccountBalance", address, {"commitment": commitment})
        except SolanaRpcError as exc:
            if exc.rpc_code == -32602:
                return None
            raise
        return int(result["value"]["amount"])
