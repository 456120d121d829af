"""A Stacks wallet for headless Chromium: `window.LeatherProvider` in the page, whose
`request(method, params)` forwards to Python, where it does what Leather and Xverse do with
`stx_callContract`: build the contract call from the request (contract, function, Clarity-encoded
arguments, post-conditions, deny mode), take the payer's next nonce from the Stacks API, sign with a
dev key and broadcast to the local Stacks API; it answers with the transaction id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from sluice.rails.stacks.c32 import address_from_public_key
from sluice.rails.stacks.clarity import deserialize_hex
from sluice.rails.stacks.networks import get_stacks_network
from sluice.rails.stacks.sip018 import public_key
from sluice.rails.stacks.transactions import ContractCall, PostCondition, unsigned_transaction

PROVIDER_SHIM = """
(() => {
  window.LeatherProvider = {
    isSluiceTestWallet: true,
    async request(method, params) {
      const body = JSON.stringify({ method, params: params ?? {} });
      const reply = JSON.parse(await window.__sluiceStacksWallet(body));
      if (reply.error) throw { jsonrpc: "2.0", id: "1", error: reply.error };
      return { jsonrpc: "2.0", id: "1", result: reply.result };
    },
  };
})();
"""


@dataclass
class StacksTestWallet:
    api_url: str
    key: bytes
    network: str = "stacks-local"
    #: Methods the user refuses (error 4001, as Leather answers).
    reject: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return address_from_public_key(public_key(self.key), get_stacks_network(self.network).chain)

    def install(self, page: Any) -> None:
        page.expose_function("__sluiceStacksWallet", self.handle)
        page.add_init_script(PROVIDER_SHIM)

    def handle(self, raw: str) -> str:
        request = json.loads(raw)
        method, params = request["method"], request.get("params") or {}
        self.calls.append(method)
        try:
            return json.dumps(self._handle(method, params))
        except Exception as exc:  # a wallet reports what went wrong as an error answer
            return json.dumps({"error": {"code": -32603, "message": str(exc)}})

    def _handle(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method in self.reject:
            return {"error": {"code": 4001, "message": "User rejected the request."}}
        if method == "getAddresses":
            return {"result": {"addresses": [{"symbol": "STX", "address": self.address}]}}
        if method == "stx_callContract":
            self.requests.append(params)
            return {"result": {"txid": self._call(params)}}
        return {"error": {"code": -32601, "message": f"unsupported method {method}"}}

    def _call(self, params: dict[str, Any]) -> str:
        net = get_stacks_network(self.network)
        if params.get("network") not in (None, net.chain):
            raise ValueError(f"the request is for {params.get('network')}, the wallet is on {net.chain}")
        if params.get("postConditionMode") != "deny":
            raise ValueError("this wallet signs deny-mode calls only")
        conditions = [
            PostCondition(pc["address"], int(pc["amount"]), pc["condition"], pc.get("asset"))
            for pc in params.get("postConditions", [])
        ]
        call = ContractCall(
            params["contract"],
            params["functionName"],
            tuple(deserialize_hex(a) for a in params["functionArgs"]),
        )
        nonce = int(
            httpx.get(f"{self.api_url}/v2/accounts/{self.address}?proof=0", timeout=10).json()["nonce"]
        )
        tx = unsigned_transaction(
            version=net.transaction_version,
            chain_id=net.chain_id,
            sender=self.address,
            nonce=nonce,
            fee=3_000,
            payload=call,
            post_conditions=conditions,
        )
        signed = tx.sign(self.key).serialize()
        response = httpx.post(
            f"{self.api_url}/v2/transactions",
            content=signed,
            headers={"content-type": "application/octet-stream"},
            timeout=30,
        )
        response.raise_for_status()
        tx_id = str(response.json())
        tx_id = tx_id if tx_id.startswith("0x") else "0x" + tx_id
        self.sent.append(tx_id)
        return tx_id
