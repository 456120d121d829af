"""A Wallet Standard Solana wallet for headless Chromium: a JS wallet in the page that registers
itself as browser extensions do ("wallet-standard:register-wallet" / "app-ready") and forwards
`solana:signAndSendTransaction` to Python, where solders signs with a dev keypair of the local
cluster and the transaction goes to the cluster's JSON-RPC. It can be told to refuse (error 4001)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from solders.keypair import Keypair
from solders.transaction import Transaction

WALLET_SHIM = """
(() => {
  const account = Object.freeze({
    address: "%ADDRESS%",
    publicKey: new Uint8Array(32),
    chains: ["solana:localnet", "solana:devnet"],
    features: ["solana:signAndSendTransaction"],
  });
  const wallet = {
    version: "1.0.0",
    name: "Sluice Solana Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/%3E",
    chains: ["solana:localnet", "solana:devnet"],
    accounts: [],
    features: {
      "standard:connect": {
        version: "1.0.0",
        async connect() {
          wallet.accounts = [account];
          return { accounts: [account] };
        },
      },
      "solana:signAndSendTransaction": {
        version: "1.0.0",
        supportedTransactionVersions: ["legacy"],
        async signAndSendTransaction(...inputs) {
          const outputs = [];
          for (const input of inputs) {
            const transaction = btoa(String.fromCharCode(...input.transaction));
            const request = { transaction, chain: input.chain, account: input.account.address };
            const reply = JSON.parse(await window.__sluiceSolanaWallet(JSON.stringify(request)));
            if (reply.error) {
              const error = new Error(reply.error.message);
              error.code = reply.error.code;
              throw error;
            }
            outputs.push({ signature: Uint8Array.from(atob(reply.signature), (c) => c.charCodeAt(0)) });
          }
          return outputs;
        },
      },
    },
  };
  const register = (api) => api.register(wallet);
  window.addEventListener("wallet-standard:app-ready", (event) => register(event.detail));
  window.dispatchEvent(new CustomEvent("wallet-standard:register-wallet", { detail: register }));
})();
"""


@dataclass
class SolanaBrowserWallet:
    rpc_url: str
    keypair: Keypair
    reject: bool = False
    signatures: list[str] = field(default_factory=list)

    def install(self, page: Any) -> None:
        page.expose_function("__sluiceSolanaWallet", self.handle)
        page.add_init_script(WALLET_SHIM.replace("%ADDRESS%", str(self.keypair.pubkey())))

    def handle(self, raw: str) -> str:
        request = json.loads(raw)
        if self.reject:
            return json.dumps({"error": {"code": 4001, "message": "User rejected the request."}})
        assert request["account"] == str(self.keypair.pubkey()) and request["chain"] == "solana:localnet"
        tx = Transaction.from_bytes(base64.b64decode(request["transaction"]))
        tx.partial_sign([self.keypair], tx.message.recent_blockhash)  # what a wallet does: sign as is
        answer = httpx.post(
            self.rpc_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "sendTransaction",
                "params": [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}],
            },
            timeout=30,
        ).json()
        if "error" in answer:
            return json.dumps({"error": {"code": -32002, "message": answer["error"]["message"]}})
        self.signatures.append(answer["result"])
        return json.dumps({"signature": base64.b64encode(bytes(tx.signatures[0])).decode()})
