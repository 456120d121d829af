"""The local cluster's JSON-RPC server: the subset of Solana's HTTP RPC that wallets and the rail use,
with the answer shapes of https://solana.com/docs/rpc/http. Binds 127.0.0.1 only.

Methods: getLatestBlockhash, isBlockhashValid, sendTransaction, simulateTransaction,
getSignatureStatuses, getSignaturesForAddress, getTransaction, getBalance, getTokenAccountBalance,
getAccountInfo, getMinimumBalanceForRentExemption, getSlot, getBlockHeight, getHealth, getVersion,
requestAirdrop. Anything else is answered with JSON-RPC error -32601, as a node does. Transactions
travel base64-encoded (what @solana/web3.js and solders send); the deprecated base58 wire encoding
and `getTransaction`'s `json`/`jsonParsed` encodings are refused with a clear error.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import uvicorn
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.token.state import TokenAccount
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sluice.rails.solana.devchain.cluster import ClusterError, LocalCluster, ui_token_amount

HOST = "127.0.0.1"
Params = list[Any]


def _config(params: Params, position: int) -> dict[str, Any]:
    value = params[position] if len(params) > position else None
    return value if isinstance(value, dict) else {}


def _pubkey(params: Params) -> str:
    try:
        return str(Pubkey.from_string(params[0]))
    except (IndexError, TypeError, ValueError):
        raise ClusterError(-32602, "Invalid param: Invalid") from None


class RpcHandler:
    """Dispatches JSON-RPC calls to a LocalCluster."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.methods: dict[str, Callable[[Params], Any]] = {
            "getLatestBlockhash": self.get_latest_blockhash,
            "isBlockhashValid": self.is_blockhash_valid,
            "sendTransaction": self.send_transaction,
            "simulateTransaction": self.simulate_transaction,
            "getSignatureStatuses": self.get_signature_statuses,
            "getSignaturesForAddress": self.get_signatures_for_address,
            "getTransaction": self.get_transaction,
            "getBalance": self.get_balance,
            "getTokenAccountBalance": self.get_token_account_balance,
            "getAccountInfo": self.get_account_info,
            "getMinimumBalanceForRentExemption": self.get_minimum_balance,
            "getSlot": self.get_slot,
            "getBlockHeight": self.get_slot,
            "getHealth": lambda _params: "ok",
            "getVersion": lambda _params: {"solana-core": "litesvm-sluice", "feature-set": 0},
            "requestAirdrop": self.request_airdrop,
        }

    def handle(self, request: Any) -> dict[str, Any]:
        """One JSON-RPC request object → its response object."""
        ident = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise ClusterError(-32600, "Invalid request")
            method = self.methods.get(request["method"])
            if method is None:
                raise ClusterError(-32601, "Method not found")
            params = request.get("params") or []
            result = method(params if isinstance(params, list) else [params])
            return {"jsonrpc": "2.0", "result": result, "id": ident}
        except ClusterError as exc:
            error: dict[str, Any] = {"code": exc.code, "message": str(exc)}
            if exc.data is not None:
                error["data"] = exc.data
            return {"jsonrpc": "2.0", "error": error, "id": ident}

    def _context(self, commitment: str | None = None) -> dict[str, Any]:
        return {"apiVersion": "2.2.0", "slot": self.cluster.commitment_slot(commitment)}

    def _wire(self, params: Params) -> bytes:
        encoding = _config(params, 1).get("encoding", "base58")
        if encoding != "base64":
            raise ClusterError(-32602, "the local cluster takes transactions encoded as base64 only")
        try:
            return base64.b64decode(params[0], validate=True)
        except (IndexError, TypeError, ValueError):
            raise ClusterError(-32602, "invalid base64 transaction") from None

    def get_latest_blockhash(self, params: Params) -> dict[str, Any]:
        commitment = _config(params, 0).get("commitment")
        blockhash = str(self.cluster.svm.latest_blockhash())
        return {
            "context": self._context(commitment),
            "value": {"blockhash": blockhash, "lastValidBlockHeight": self.cluster.slot + 150},
        }

    def is_blockhash_valid(self, params: Params) -> dict[str, Any]:
        valid = Hash.from_string(params[0]) == self.cluster.svm.latest_blockhash()
        return {"context": self._context(), "value": valid}

    def send_transaction(self, params: Params) -> str:
        try:
            return self.cluster.send(self._wire(params))
        except ValueError as exc:
            raise ClusterError(-32602, f"failed to deserialize transaction: {exc}") from None

    def simulate_transaction(self, params: Params) -> dict[str, Any]:
        try:
            value = self.cluster.simulate(self._wire(params))
        except ValueError as exc:
            raise ClusterError(-32602, f"failed to deserialize transaction: {exc}") from None
        value.update({"accounts": None, "returnData": None})
        return {"context": self._context(), "value": value}

    def get_signature_statuses(self, params: Params) -> dict[str, Any]:
        signatures = params[0] if params and isinstance(params[0], list) else []
        if len(signatures) > 256:
            raise ClusterError(-32602, "Too many inputs provided; max 256")
        return {"context": self._context(), "value": [self.cluster.status(s) for s in signatures]}

    def get_signatures_for_address(self, params: Params) -> list[dict[str, Any]]:
        address, config = _pubkey(params), _config(params, 1)
        limit = int(config.get("limit", 1000))
        if not 1 <= limit <= 1000:
            raise ClusterError(-32602, "Invalid limit; max 1000")
        commitment = config.get("commitment")
        before, until = config.get("before"), config.get("until")
        records = self.cluster.signatures_for(address, commitment, limit, before, until)
        finalized = self.cluster.commitment_slot("finalized")
        return [
            {
                "signature": r.signature,
                "slot": r.slot,
                "err": None,
                "memo": r.memo,
                "blockTime": r.block_time,
                "confirmationStatus": "finalized" if r.slot <= finalized else "confirmed",
            }
            for r in records
        ]

    def get_transaction(self, params: Params) -> dict[str, Any] | None:
        config = _config(params, 1)
        if config.get("encoding", "json") != "base64":
            raise ClusterError(-32602, "the local cluster answers getTransaction with encoding base64 only")
        record = self.cluster.record(str(params[0]), config.get("commitment"))
        if record is None:
            return None
        return {
            "slot": record.slot,
            "blockTime": record.block_time,
            "meta": record.meta,
            "transaction": [base64.b64encode(record.wire).decode(), "base64"],
            "version": "legacy",
        }

    def get_balance(self, params: Params) -> dict[str, Any]:
        account = self.cluster.account(_pubkey(params))
        return {"context": self._context(), "value": account.lamports if account else 0}

    def get_token_account_balance(self, params: Params) -> dict[str, Any]:
        account = self.cluster.account(_pubkey(params))
        if account is None or len(account.data) != 165:
            raise ClusterError(-32602, "Invalid param: could not find account")
        state = TokenAccount.from_bytes(bytes(account.data))
        decimals = self.cluster.mint_decimals(state.mint)
        return {"context": self._context(), "value": ui_token_amount(state.amount, decimals)}

    def get_account_info(self, params: Params) -> dict[str, Any]:
        account = self.cluster.account(_pubkey(params))
        value = None
        if account is not None:
            value = {
                "data": [base64.b64encode(bytes(account.data)).decode(), "base64"],
                "executable": account.executable,
                "lamports": account.lamports,
                "owner": str(account.owner),
                "rentEpoch": account.rent_epoch,
                "space": len(account.data),
            }
        return {"context": self._context(), "value": value}

    def get_minimum_balance(self, params: Params) -> int:
        return int(self.cluster.svm.minimum_balance_for_rent_exemption(int(params[0])))

    def get_slot(self, params: Params) -> int:
        return self.cluster.commitment_slot(_config(params, 0).get("commitment"))

    def request_airdrop(self, params: Params) -> str:
        result = self.cluster.svm.airdrop(Pubkey.from_string(_pubkey(params)), int(params[1]))
        return str(getattr(result, "signature", "")) or "airdrop"


def create_app(cluster: LocalCluster, *, slot_seconds: float = 0.4) -> Starlette:
    """The ASGI app; a background task adds an empty slot every `slot_seconds` (finality moves on)."""
    handler = RpcHandler(cluster)

    async def rpc(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            error = {"code": -32700, "message": "Parse error"}
            return JSONResponse({"jsonrpc": "2.0", "error": error, "id": None})
        if isinstance(body, list):
            return JSONResponse([await asyncio.to_thread(handler.handle, item) for item in body])
        return JSONResponse(await asyncio.to_thread(handler.handle, body))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async def ticker() -> None:
            while True:
                await asyncio.sleep(slot_seconds)
                cluster.tick()

        task = asyncio.create_task(ticker())
        try:
            yield
        finally:
            task.cancel()

    return Starlette(routes=[Route("/", rpc, methods=["POST"])], lifespan=lifespan)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(cluster: LocalCluster, *, port: int = 0, slot_seconds: float = 0.4) -> Iterator[str]:
    """Run the server on 127.0.0.1 in a thread (tests, `sluice dev`); yields its URL."""
    port = port or free_port()
    app = create_app(cluster, slot_seconds=slot_seconds)
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="solana-local-rpc", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the local Solana RPC server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
