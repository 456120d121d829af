"""The local cluster as a user runs it: `python -m sluice.rails.solana.devchain` in its own process,
and a client that knows only `.sluice/dev.json`, solders and HTTP."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from sluice.rails.solana.devchain.server import free_port

ROOT = Path(__file__).resolve().parents[3]


def rpc(url: str, method: str, *params: object) -> dict[str, object]:
    answer = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    ).json()
    assert "error" not in answer, answer
    return answer["result"]  # type: ignore[no-any-return]


def test_standalone_cluster_serves_a_client_that_knows_only_dev_json(tmp_path: Path) -> None:
    info_file = tmp_path / ".sluice" / "dev.json"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sluice.rails.solana.devchain",
            "--port",
            str(port),
            "--info-file",
            str(info_file),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(400):
            if info_file.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        info = json.loads(info_file.read_text())["solana"]
        url = info["rpc_url"]
        assert url == f"http://127.0.0.1:{port}"
        payer = Keypair.from_base58_string(info["keypairs"]["payer"]["secret_key"])
        merchant = Pubkey.from_string(info["keypairs"]["merchant"]["address"])
        before = rpc(url, "getBalance", str(merchant))["value"]  # type: ignore[index]
        blockhash = rpc(url, "getLatestBlockhash")["value"]["blockhash"]  # type: ignore[index]
        pay = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=merchant, lamports=12_345))
        tx = Transaction([payer], Message([pay], payer.pubkey()), Hash.from_string(blockhash))
        signature = rpc(url, "sendTransaction", base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"})
        assert rpc(url, "getBalance", str(merchant))["value"] == before + 12_345  # type: ignore[index]
        assert rpc(url, "getSignatureStatuses", [signature])["value"][0]["err"] is None  # type: ignore[index]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0  # SIGTERM is a clean stop
