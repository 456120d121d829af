"""JSON-RPC over HTTP for the indexer: batches, retries with backoff, failover across several URLs.

Errors are sorted into three kinds: "range too large" (the caller shrinks its eth_getLogs range),
transient (time-outs, connection errors, 429/5xx, node hiccups: retried, next URL), and the rest
(raised). A batch goes to one endpoint as a whole, so the head, the headers and the logs of one
indexer step always come from the same node.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson
import structlog

log = structlog.get_logger(__name__)

#: Messages nodes and providers use when an eth_getLogs range returns too much or takes too long.
_RANGE_PATTERNS = re.compile(
    r"too many|range (is )?too (large|wide|big)|block range|exceed|limit|response size|too large|"
    r"query timeout|timed? ?out|max results|result set|more than \d+|try with this block range|"
    r"payload too large|query returned",
    re.IGNORECASE,
)
#: JSON-RPC errors worth retrying elsewhere (node still syncing, overloaded, internal trouble).
_TRANSIENT_PATTERNS = re.compile(
    r"header not found|unknown block|busy|overloaded|rate|temporar|unavailable|internal|try again|"
    r"capacity|backend|upstream|connection",
    re.IGNORECASE,
)


class RpcError(Exception):
    """Raised when a node answers a request with a JSON-RPC error that retrying will not fix."""

    def __init__(self, message: str, *, code: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.url = url


class RangeTooLargeError(RpcError):
    """Raised when eth_getLogs refuses (or times out on) a block range: shrink it and ask again."""


class TransientRpcError(RpcError):
    """Raised for a failure another try (or another URL) may not have: time-out, 5xx, bad JSON."""


class RpcUnavailableError(RpcError):
    """Raised when every URL kept failing for `max_attempts` tries."""


def _redact(url: str) -> str:
    """The URL without path and query (provider URLs carry API keys in them)."""
    match = re.match(r"^(\w+://[^/?#]+)", url)
    return match.group(1) if match else "rpc"


class RpcClient:
    """JSON-RPC client over several URLs. `on_error(kind)` is called for each failed attempt (metrics)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout: float = 20.0,
        max_attempts: int = 8,
        backoff_base: float = 0.1,
        backoff_cap: float = 5.0,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        if not urls:
            raise ValueError("RpcClient needs at least one URL")
        self.urls = list(urls)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_error = on_error or (lambda _kind: None)
        self._current = 0
        self._ids = 0
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            headers={"content-type": "application/json"},
            # The CA store only when a URL speaks TLS (https URLs are always verified): loading it
            # takes ~50 ms of the indexer's start, for nothing with a local node over http.
            verify=any(url.lower().startswith("https://") for url in self.urls),
        )

    @property
    def url(self) -> str:
        return self.urls[self._current]

    async def aclose(self) -> None:
        await self._client.aclose()

    def _failover(self) -> None:
        if len(self.urls) > 1:
            old = self.url
            self._current = (self._current + 1) % len(self.urls)
            log.warning("rpc_failover", old=_redact(old), new=_redact(self.url))

    async def call(self, method: str, params: list[Any]) -> Any:
        """One request; retried on transient errors (with failover)."""
        return (await self.batch([(method, params)]))[0]

    async def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Several requests in one HTTP round trip to one endpoint; results in order.

        Retries the whole batch on transient errors, moving to the next URL; raises
        RangeTooLargeError at once (without retrying) when an eth_getLogs in it was refused.
        """
        attempt = 0
        while True:
            try:
                return await self._send(calls)
            except RangeTooLargeError:
                self.on_error("range")
                raise
            except TransientRpcError as exc:
                attempt += 1
                self.on_error("transient")
                log.warning(
                    "rpc_retry",
                    url=_redact(self.url),
                    attempt=attempt,
                    error=str(exc)[:200],
                    method=calls[0][0],
                )
                self._failover()
                if attempt >= self.max_attempts:
                    raise RpcUnavailableError(
                        f"{len(self.urls)} RPC URL(s) failed {attempt} times; last: {exc}"
                    ) from exc
                delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 (jitter)

    async def _send(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        first_id = self._ids + 1
        payload = []
        for method, params in calls:
            self._ids += 1
            payload.append({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        has_logs = any(method == "eth_getLogs" for method, _ in calls)
        url = self.url
        try:
            response = await self._client.post(url, content=json.dumps(payload).encode())
        except httpx.TimeoutException as exc:
            if has_logs:
                raise RangeTooLargeError(f"eth_getLogs timed out after {self.timeout} s", url=url) from exc
            raise TransientRpcError(f"time-out after {self.timeout} s", url=url) from exc
        except httpx.HTTPError as exc:
            raise TransientRpcError(f"{type(exc).__name__}: {exc}", url=url) from exc
        if response.status_code == 413 and has_logs:
            raise RangeTooLargeError("HTTP 413 payload too large", url=url)
        if response.status_code != 200:
            raise TransientRpcError(f"HTTP {response.status_code}: {response.text[:200]}", url=url)
        try:
            # orjson: 1.5-2x faster than json on eth_getLogs answers (json.loads was ~5% of the
            # indexer's CPU). Quantities are hex strings, so its limits (integers past 64 bits read as
            # floats, NaN refused as bad JSON) never meet a node's answer.
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise TransientRpcError(f"invalid JSON from the node: {response.text[:200]!r}", url=url) from exc
        if isinstance(body, dict):  # a single answer: one call, or one error for the whole batch
            if "error" in body and len(calls) > 1:
                raise self._classify("eth_getLogs" if has_logs else calls[0][0], body["error"], url)
            if len(calls) > 1:
                raise TransientRpcError("the node did not answer the batch as a batch", url=url)
            body = [body]
        by_id = {item.get("id"): item for item in body if isinstance(item, dict)}
        results = []
        for offset, (method, _params) in enumerate(calls):
            item = by_id.get(first_id + offset)
            if item is None and len(calls) == 1 and len(body) == 1:
                item = body[0]
            if item is None:
                raise TransientRpcError(f"no answer for {method} in the batch", url=url)
            error = item.get("error")
            if error is not None:
                raise self._classify(method, error, url)
            if "result" not in item:
                raise TransientRpcError(f"{method}: answer without result", url=url)
            results.append(item["result"])
        return results

    @staticmethod
    def _classify(method: str, error: Any, url: str) -> RpcError:
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        code = error.get("code") if isinstance(error, dict) else None
        data = error.get("data") if isinstance(error, dict) else None
        text = f"{method}: {message}" + (f" ({data})" if data else "")
        if method == "eth_getLogs" and (_RANGE_PATTERNS.search(message) or code == -32005):
            return RangeTooLargeError(text, code=code, url=url)
        if code in (-32603, -32000, 429, -32005) or _TRANSIENT_PATTERNS.search(message):
            return TransientRpcError(text, code=code, url=url)
        return RpcError(text, code=code, url=url)
