"""The local cluster answers in the shapes real Solana nodes answer with (recorded answers from the
RPC documentation, tests/rails/solana/recorded_answers.json), and the rail's client reads those
real answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.devchain.server import RpcHandler
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.transaction import build_transaction, decode_transaction, encode_transaction
from sluice.rails.solana.watcher import watched_account

from solana_fixtures import make_payment

RECORDED: dict[str, Any] = json.loads((Path(__file__).parent / "recorded_answers.json").read_text())
#: Fields a node may add or leave out (apiVersion appeared in answers with Solana 1.15).
OPTIONAL = {"apiVersion"}


def shape_mismatches(ours: Any, real: Any, path: str = "$") -> list[str]:
    """Where `ours` differs from `real` in keys or JSON types (null matches any type: nullable fields)."""
    if ours is None or real is None:
        return []
    if isinstance(real, dict):
        if not isinstance(ours, dict):
            return [f"{path}: object expected"]
        problems = [f"{path}.{k}: missing" for k in real.keys() - ours.keys() - OPTIONAL]
        problems += [f"{path}.{k}: not in real answers" for k in ours.keys() - real.keys() - OPTIONAL]
        for key in real.keys() & ours.keys():
            problems += shape_mismatches(ours[key], real[key], f"{path}.{key}")
        return problems
    if isinstance(real, list):
        if not isinstance(ours, list):
            return [f"{path}: array expected"]
        return shape_mismatches(ours[0], real[0], f"{path}[0]") if ours and real else []
    numeric = (int, float)
    same = (
        isinstance(ours, numeric) and isinstance(real, numeric)
        if isinstance(real, numeric)
        else type(ours) is type(real)
    )
    return [] if same else [f"{path}: {type(ours).__name__} where real answers have {type(real).__name__}"]


@pytest.fixture
def paid(cluster: LocalCluster, keys: dict[str, Keypair]) -> tuple[str, str]:
    """(signature, reference) of one USDC payment on the cluster."""
    payment = make_payment(Keypair().pubkey(), amount=1_000_000)
    tx = decode_transaction(
        encode_transaction(build_transaction(payment, keys["payer"].pubkey(), cluster.svm.latest_blockhash()))
    )
    tx.partial_sign([keys["payer"]], tx.message.recent_blockhash)
    for _ in range(3):
        cluster.tick()  # finalized, like the recorded answers
    return cluster.send(bytes(tx)), str(payment.reference_key)


def test_local_answers_have_the_real_shapes(
    cluster: LocalCluster, keys: dict[str, Keypair], paid: tuple[str, str]
) -> None:
    signature, reference = paid
    handler = RpcHandler(cluster)
    payer_ata = watched_account(make_payment(keys["payer"].pubkey()))
    calls = {
        "getSignaturesForAddress": [reference],
        "getSignatureStatuses": [[signature]],
        "getTokenAccountBalance": [payer_ata],
        "getLatestBlockhash": [],
    }
    for method, params in calls.items():
        ours = handler.handle({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        assert "error" not in ours, ours
        assert shape_mismatches(ours, RECORDED[method]) == [], method


async def test_the_client_reads_real_answers() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=RECORDED[json.loads(request.content)["method"]])

    rpc = SolanaRpc("http://127.0.0.1:1", client=httpx.AsyncClient(transport=httpx.MockTransport(answer)))
    blockhash, last_valid = await rpc.latest_blockhash()
    assert str(blockhash) == "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N" and last_valid == 3090
    assert await rpc.token_account_balance("7fUAJdStEuGbc3sM84cKRL6yYaaSstyLSU4ve5oovLS7") == 12
    [info] = await rpc.signatures_for_address("Vote111111111111111111111111111111111111111")
    assert info["slot"] == 114 and info["err"] is None
    [status] = await rpc.signature_statuses(
        ["5h6xBEauJ3PK6SWCZ1PGjBvj8vDdWG3KpwATGy1ARAXFSDwt8GFXM7W5Ncn16wmqokgpiKRLuS83KUxyZyv2sUYv"]
    )
    assert status is not None and status["confirmationStatus"] == "finalized"
    await rpc.aclose()
