"""The Stacks API client's error handling (unit tests with httpx's mock transport; the happy paths
run against the simnet API in test_stacks_local_chain.py)."""

from __future__ import annotations

import httpx
import pytest

from sluice.rails.stacks.api import StacksApi, StacksApiError


def _api(handler: httpx.MockTransport) -> StacksApi:
    return StacksApi("http://127.0.0.1:1", client=httpx.AsyncClient(transport=handler))


async def test_unreachable_api_is_a_clear_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(StacksApiError, match="cannot reach the Stacks API"):
        await _api(httpx.MockTransport(refuse)).info()


async def test_rejected_transaction_carries_the_nodes_reason() -> None:
    def reject(request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"] == "application/octet-stream"
        return httpx.Response(400, json={"error": "transaction rejected", "reason": "BadNonce"})

    with pytest.raises(StacksApiError, match="BadNonce"):
        await _api(httpx.MockTransport(reject)).broadcast(b"\0")


async def test_broadcast_returns_a_0x_txid_and_unknown_things_are_none() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json="ab" * 32)
        return httpx.Response(404, json={"error": "not found"})

    api = _api(httpx.MockTransport(answer))
    assert await api.broadcast(b"\0") == "0x" + "ab" * 32
    assert await api.transaction("0x" + "ab" * 32) is None
    assert await api.contract_source("ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.nothing") is None


async def test_wait_for_reports_failed_and_slow_transactions() -> None:
    statuses = iter(["pending", "abort_by_post_condition"])

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"tx_id": "0x01", "tx_status": next(statuses), "tx_result": {"repr": "(err none)"}}
        )

    with pytest.raises(StacksApiError, match="abort_by_post_condition"):
        await _api(httpx.MockTransport(answer)).wait_for("0x01", poll=0)

    def pending(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"tx_id": "0x01", "tx_status": "pending"})

    with pytest.raises(StacksApiError, match="not confirmed within"):
        await _api(httpx.MockTransport(pending)).wait_for("0x01", timeout=0.05, poll=0.01)
