"""An EIP-1193 wallet for headless Chromium: a JS provider in the page that forwards every request to
Python, where eth-account signs with a funded anvil account and anvil receives the transactions.

It announces itself over EIP-6963 and as `window.ethereum`, like a browser extension would, and can
be told to start on another chain (wrong network) or to refuse requests (EIP-1193 error 4001).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

PROVIDER_SHIM = """
(() => {
  const listeners = {};
  const provider = {
    isSluiceTestWallet: true,
    async request({ method, params }) {
      const reply = JSON.parse(await window.__sluiceWallet(JSON.stringify({ method, params: params ?? [] })));
      for (const [name, arg] of reply.events || []) (listeners[name] || []).forEach((fn) => fn(arg));
      if (reply.error) {
        const error = new Error(reply.error.message);
        error.code = reply.error.code;
        throw error;
      }
      return reply.result;
    },
    on(name, fn) { (listeners[name] ||= []).push(fn); return provider; },
    removeListener(name, fn) {
      listeners[name] = (listeners[name] || []).filter((f) => f !== fn);
      return provider;
    },
  };
  const info = Object.freeze({
    uuid: "5f1f3c9e-8a57-4c38-9d55-0d7c2a4b7e11",
    name: "Sluice Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/%3E",
    rdns: "dev.sluice.testwallet",
  });
  const detail = Object.freeze({ info, provider });
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
  window.addEventListener("eip6963:requestProvider", announce);
  window.ethereum = provider;
  announce();
})();
"""

#: Read-only calls the wallet passes to its node, as a real wallet does.
FORWARDED = {
    "eth_blockNumber",
    "eth_getTransactionReceipt",
    "eth_getTransactionByHash",
    "eth_getBalance",
    "eth_call",
    "eth_estimateGas",
    "eth_gasPrice",
    "eth_getBlockByNumber",
}


@dataclass
class BrowserWallet:
    rpc_url: str
    key: str
    #: The chain the wallet is on; starts elsewhere to test the wrong-network path.
    chain_id: int = 31337
    #: Methods the user refuses (EIP-1193 error 4001).
    reject: set[str] = field(default_factory=set)
    #: Blocks anvil mines after each sent transaction, so that it is confirmed at once on a network
    #: that wants that many confirmations (the test stack's local network wants 2); 0 leaves the
    #: payment `processing` until the test mines.
    confirm_blocks: int = 1
    calls: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.account: LocalAccount = Account.from_key(self.key)
        self.w3 = Web3(Web3.HTTPProvider(self.rpc_url))
        self.node_chain_id = int(self.w3.eth.chain_id)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def install(self, page: Any) -> None:
        page.expose_function("__sluiceWallet", self.handle)
        page.add_init_script(PROVIDER_SHIM)

    def handle(self, raw: str) -> str:
        request = json.loads(raw)
        method, params = request["method"], request.get("params") or []
        self.calls.append(method)
        try:
            return json.dumps(self._handle(method, params))
        except Exception as exc:  # a wallet turns node errors into EIP-1193 errors
            return json.dumps({"error": {"code": -32603, "message": str(exc)}})

    def _handle(self, method: str, params: list[Any]) -> dict[str, Any]:
        if method in self.reject:
            return {"error": {"code": 4001, "message": "User rejected the request."}}
        if method in ("eth_requestAccounts", "eth_accounts"):
            return {"result": [self.address]}
        if method == "eth_chainId":
            return {"result": hex(self.chain_id)}
        if method == "wallet_switchEthereumChain":
            wanted = int(params[0]["chainId"], 16)
            if wanted != self.node_chain_id:
                return {"error": {"code": 4902, "message": "Unrecognized chain ID."}}
            self.chain_id = wanted
            return {"result": None, "events": [["chainChanged", hex(wanted)]]}
        if method == "wallet_addEthereumChain":
            return {"result": None}
        if method == "eth_sendTransaction":
            return {"result": self._send(params[0])}
        if method == "eth_signTypedData_v4":
            typed = json.loads(params[1]) if isinstance(params[1], str) else params[1]
            signed = self.account.sign_typed_data(full_message=typed)
            return {"result": "0x" + signed.signature.hex().removeprefix("0x")}
        if method in FORWARDED:
            reply = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
            if "error" in reply:
                return {"error": {"code": -32603, "message": str(reply["error"])}}
            return {"result": reply["result"]}
        return {"error": {"code": 4200, "message": f"unsupported method {method}"}}

    def _send(self, tx: dict[str, Any]) -> str:
        if int(tx.get("chainId", hex(self.chain_id)), 16) != self.chain_id:
            raise ValueError("the transaction's chainId is not the wallet's chain")
        if self.chain_id != self.node_chain_id:
            raise ValueError("the wallet is not connected to this chain")
        tx = {k: v for k, v in tx.items() if k != "from"}
        tx["nonce"] = self.w3.eth.get_transaction_count(self.account.address, "pending")
        tx["chainId"] = self.chain_id
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self.sent.append(tx_hash.to_0x_hex())
        self.mine(self.confirm_blocks)
        return tx_hash.to_0x_hex()

    def mine(self, blocks: int = 1) -> None:
        for _ in range(blocks):
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
