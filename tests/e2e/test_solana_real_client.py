"""The Solana twin of the real-client check: `sluice dev` runs as a newcomer starts it, and a client
that knows only `.sluice/dev.json`, solders and HTTP creates an intent on `solana-local` through the
API, asks for the transaction, signs it with the dev payer's key, sends it to the local cluster,
and sees the intent `succeeded` and a webhook whose Standard Webhooks signature it verifies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair
from solders.transaction import Transaction
from test_sluice_dev import READY_LINE, DevProcess

from chains import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.chain]


class Receiver:
    """A webhook receiver on 127.0.0.1: every POST's headers and raw body, in a queue."""

    def __init__(self) -> None:
        received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                received.put(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, event_type: str, object_id: str, timeout: float = 60) -> tuple[dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                headers, body = self.received.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            event = json.loads(body)
            if event["type"] == event_type and event["data"]["object"]["id"] == object_id:
                return headers, body
        raise AssertionError(f"no {event_type} webhook for {object_id}")


def verify(secret: str, headers: dict[str, str], body: bytes) -> None:
    """Standard Webhooks: base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed by the whsec_ secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected, g) for g in given), "bad webhook signature"
    assert abs(time.time() - int(headers["webhook-timestamp"])) < 300


def rpc(url: str, method: str, *params: Any) -> Any:
    answer = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    ).json()
    assert "error" not in answer, answer
    return answer["result"]


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[dict[str, Any]]:
    process = DevProcess(tmp_path, free_port(), free_port())
    try:
        process.wait_for(READY_LINE)
        info = json.loads((tmp_path / ".sluice" / "dev.json").read_text())
        # `make demo` prints the Solana demo intent's checkout link beside the EVM one.
        assert info["solana"]["demo_intent"]["checkout_url"] in process.output
        yield info
        assert process.interrupt() == 0, process.output[-3000:]
    finally:
        process.kill()


def test_a_client_with_dev_json_solders_and_http_pays_a_solana_intent(dev: dict[str, Any]) -> None:
    api, solana = dev["api_url"], dev["solana"]
    headers = {"Authorization": f"Bearer {dev['secret_key']}"}
    assert solana["network"] == "solana-local" and solana["demo_intent"]["checkout_url"].startswith(api)
    receiver = Receiver()
    endpoint = httpx.post(
        f"{api}/v1/webhook_endpoints",
        json={"url": receiver.url, "enabled_events": ["payment_intent.succeeded"]},
        headers=headers,
    ).json()

    intent = httpx.post(
        f"{api}/v1/payment_intents",
        json={"network": "solana-local", "asset": "USDC", "amount": "12500000"},
        headers=headers,
    ).json()
    assert intent["status"] == "requires_payment", intent
    payer = Keypair.from_base58_string(solana["keypairs"]["payer"]["secret_key"])
    answer = httpx.post(
        f"{api}/v1/payment_intents/{intent['id']}/transactions",
        json={"payer": str(payer.pubkey())},
        headers=headers,
    ).json()
    tx = Transaction.from_bytes(base64.b64decode(answer["transactions"][0]["transaction"]))
    tx.partial_sign([payer], tx.message.recent_blockhash)  # exactly as returned, signed by the payer
    signature = rpc(
        solana["rpc_url"], "sendTransaction", base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}
    )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = httpx.get(f"{api}/v1/payment_intents/{intent['id']}", headers=headers).json()
        if current["status"] == "succeeded":
            break
        time.sleep(0.2)
    assert (current["status"], current["amount_received"]) == ("succeeded", "12500000")
    hook_headers, body = receiver.wait_for("payment_intent.succeeded", intent["id"])
    verify(endpoint["secret"], hook_headers, body)
    assert rpc(solana["rpc_url"], "getSignatureStatuses", [signature])["value"][0]["err"] is None
    receiver.server.shutdown()
