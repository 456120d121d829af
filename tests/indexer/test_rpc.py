"""Unit tests of the JSON-RPC client's answer parsing, against a stub transport (no node needed)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable

import httpx
import pytest

from indexer.rpc import RpcClient, RpcError, RpcUnavailableError, TransientRpcError

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, errors: list[str], *, max_attempts: int = 3) -> RpcClient:
    rpc = RpcClient(
        ["http://node.invalid"], max_attempts=max_attempts, backoff_base=0.0, on_error=errors.append
    )
    rpc._client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return rpc


def _answer(request: httpx.Request) -> httpx.Response:
    """A node that answers each call of a batch with its method and id, in reverse order."""
    calls = json.loads(request.content)
    return httpx.Response(
        200,
        json=[{"jsonrpc": "2.0", "id": c["id"], "result": [c["method"], c["id"]]} for c in reversed(calls)],
    )


async def test_batch_results_come_back_in_call_order():
    errors: list[str] = []
    rpc = _client(_answer, errors)
    results = await rpc.batch([("eth_blockNumber", []), ("eth_chainId", []), ("eth_getLogs", [{}])])
    await rpc.aclose()

    assert results == [["eth_blockNumber", 1], ["eth_chainId", 2], ["eth_getLogs", 3]]
    assert errors == []


@pytest.mark.parametrize(
    "garbage", [b"<html>502 Bad Gateway</html>", b"", b'{"jsonrpc": "2.0", "id": 1', b"\xff\xfe"]
)
async def test_bad_json_is_transient_and_retried(garbage: bytes):
    answers = [httpx.Response(200, content=garbage)]
    errors: list[str] = []
    rpc = _client(lambda request: answers.pop() if answers else _answer(request), errors)
    result = await rpc.call("eth_blockNumber", [])
    await rpc.aclose()

    assert result == ["eth_blockNumber", 2]
    assert errors == ["transient"]


async def test_bad_json_every_time_ends_in_rpc_unavailable():
    errors: list[str] = []
    rpc = _client(lambda _request: httpx.Response(200, content=b"not json"), errors, max_attempts=2)
    with pytest.raises(RpcUnavailableError) as raised:
        await rpc.call("eth_blockNumber", [])
    await rpc.aclose()

    assert isinstance(raised.value.__cause__, TransientRpcError)
    assert "invalid JSON from the node" in str(raised.value.__cause__)
    assert errors == ["transient", "transient"]


async def test_single_error_answer_is_classified():
    errors: list[str] = []
    rpc = _client(
        lambda _request: httpx.Response(
            200, json={"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "method not found"}}
        ),
        errors,
    )
    with pytest.raises(RpcError) as raised:
        await rpc.call("eth_nope", [])
    await rpc.aclose()

    assert type(raised.value) is RpcError and raised.value.code == -32601


@pytest.mark.parametrize(
    ("urls", "verified"),
    [
        (["https://node.example"], True),
        (["http://127.0.0.1:8545", "HTTPS://node.example"], True),
        (["http://127.0.0.1:8545"], False),
    ],
)
def test_tls_certificates_are_verified_whenever_a_url_uses_https(urls, verified):
    # httpx keeps the SSL context of its connection pool here; CERT_NONE only for a plain-http client.
    context = RpcClient(urls)._client._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert (context.verify_mode == ssl.CERT_REQUIRED) is verified
