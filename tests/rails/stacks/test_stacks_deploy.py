"""`deploy_stacks` refuses what it must not do (unit tests against a mock Stacks API; the deployment
itself runs on the simnet API in test_stacks_local_chain.py)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest

from sluice.errors import DeploymentError, KeyConfigError, NetworkError
from sluice.rails.stacks.api import StacksApi
from sluice.rails.stacks.deploy import deploy_stacks, load_deployer_key
from sluice.rails.stacks.devnode import DEV_DEPLOYER_KEY
from sluice.rails.stacks.networks import get_stacks_network

LOCAL = get_stacks_network("stacks-local")


def _api(network_id: int, source: str | None) -> tuple[StacksApi, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        body: Any
        if path == "/v2/info":
            body = {"network_id": network_id, "stacks_tip_height": 5}
        elif path.startswith("/v2/accounts/"):
            body = {"nonce": 0, "balance": "0x0"}
        elif path == "/v2/fees/transfer":
            body = 1
        elif path.startswith("/v2/contracts/source/"):
            return httpx.Response(404) if source is None else httpx.Response(200, json={"source": source})
        else:
            return httpx.Response(500, json={"error": f"unexpected {path}"})
        return httpx.Response(200, json=body)

    return StacksApi(
        "http://127.0.0.1:1", client=httpx.AsyncClient(transport=httpx.MockTransport(answer))
    ), seen


async def test_refuses_an_api_of_another_chain(tmp_path: Path) -> None:
    api, _ = _api(1, None)
    with pytest.raises(NetworkError, match="chain id 1"):
        await deploy_stacks(LOCAL, api, DEV_DEPLOYER_KEY, secrets.token_bytes(32), directory=tmp_path)


async def test_refuses_to_replace_a_contract_deployed_with_another_source(tmp_path: Path) -> None:
    api, seen = _api(LOCAL.chain_id, "(define-read-only (other) u1)")
    with pytest.raises(DeploymentError, match="another source"):
        await deploy_stacks(LOCAL, api, DEV_DEPLOYER_KEY, secrets.token_bytes(32), directory=tmp_path)
    assert not any(r.method == "POST" for r in seen)  # nothing broadcast
    assert not (tmp_path / "stacks-local.json").exists()


def test_deployer_key_comes_from_the_environment_outside_stacks_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SLUICE_STACKS_DEPLOYER_KEY", raising=False)
    assert load_deployer_key(LOCAL) == DEV_DEPLOYER_KEY
    with pytest.raises(KeyConfigError, match="SLUICE_STACKS_DEPLOYER_KEY"):
        load_deployer_key(get_stacks_network("stacks-testnet"))
    key = secrets.token_bytes(32)
    monkeypatch.setenv("SLUICE_STACKS_DEPLOYER_KEY", "0x" + key.hex() + "01")
    assert load_deployer_key(get_stacks_network("stacks-mainnet")) == key + b"\1"
    monkeypatch.setenv("SLUICE_STACKS_DEPLOYER_KEY", "not hex")
    with pytest.raises(KeyConfigError, match="not a valid"):
        load_deployer_key(get_stacks_network("stacks-mainnet"))
