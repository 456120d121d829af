"""A chain and a database for indexer tests and benchmarks/indexer_backfill.py.

The contracts are deployed with `sluice.chain.deploy` (CREATE2, manifest with deploy blocks), intents
are written straight into payment_intents (signed by the operator exactly as the API signs them),
and payments are sent raw over JSON-RPC from anvil's unlocked accounts, many per block, so that
thousands of real contract events take seconds to produce.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from sluice.chain.deploy import DeployParams, LocalSender, deploy
from sluice.chain.intents import ZERO_ADDRESS, ContractKind, Split, new_intent_id
from sluice.chain.intents import PaymentIntent as OnchainIntent
from sluice.chain.keys import ANVIL_RELAYER_KEY
from sluice.chain.registry import BUILTIN, Asset, DeployedContracts, Registry
from sluice.config import Settings
from sluice.contracts import load_artifact
from sluice.ids import new_id, random_token
from sluice.intents.signing import sign_payment_intent

from chains import ANVIL_KEYS

#: `sluice dev`'s relayer (anvil account 8), which the settings fall back to on a test network.
ANVIL_RELAYER = Account.from_key(ANVIL_RELAYER_KEY).address

OPERATOR_KEY = "0x" + "5a" * 32
OPERATOR = Account.from_key(OPERATOR_KEY).address
ACCOUNTS = [Account.from_key(k).address for k in ANVIL_KEYS]
OWNER, PAYER, MERCHANT, FEE, PAYER2 = ACCOUNTS[0], ACCOUNTS[1], ACCOUNTS[2], ACCOUNTS[3], ACCOUNTS[4]
#: Every intent pays 1% to FEE and 0.5% to PLATFORM.
PLATFORM = ACCOUNTS[5]
SPLITS = [
    {"recipient": FEE, "bps": 100, "kind": "split"},
    {"recipient": PLATFORM, "bps": 50, "kind": "platform"},
]
GAS = 400_000


class Rpc:
    """Raw JSON-RPC (batches) against anvil."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=60)
        self._id = 0

    def call(self, method: str, *params: Any) -> Any:
        return self.batch([(method, list(params))])[0]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        payload = []
        for method, params in calls:
            self._id += 1
            payload.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        answers = self.client.post(self.url, json=payload).json()
        out = []
        for answer in sorted(answers, key=lambda a: a["id"]):
            if "error" in answer:
                raise RuntimeError(f"RPC error: {answer['error']}")
            out.append(answer["result"])
        return out

    def head(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def mine(self, blocks: int = 1) -> None:
        self.call("anvil_mine", hex(blocks))


@dataclass
class ChainEnv:
    url: str
    w3: Web3
    rpc: Rpc
    chain_id: int
    payments: Contract
    escrow: Contract
    usdc: Contract
    deploy_block: int
    deployments: Path
    registry: Registry

    def contract(self, kind: ContractKind) -> Contract:
        return self.payments if kind == "payments" else self.escrow


def deploy_env(url: str, deployments: Path) -> ChainEnv:
    """Deploys Sluice (CREATE2, manifest in `deployments`) and DevUSDC; funds and approves the payers."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    owner = Account.from_key(ANVIL_KEYS[0])
    result = deploy(
        w3,
        "local",
        LocalSender(owner),
        DeployParams(owner=owner.address, operator=OPERATOR, relayer=ANVIL_RELAYER),
        directory=deployments,
    )
    contracts = result.manifest["contracts"]
    payments = w3.eth.contract(
        address=contracts["SluicePayments"]["address"], abi=load_artifact("SluicePayments").abi
    )
    escrow = w3.eth.contract(
        address=contracts["SluiceEscrow"]["address"], abi=load_artifact("SluiceEscrow").abi
    )
    artifact = load_artifact("DevUSDC")
    tx = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor().transact({"from": OWNER})
    usdc = w3.eth.contract(
        address=w3.eth.wait_for_transaction_receipt(tx)["contractAddress"], abi=artifact.abi
    )
    for payer in (PAYER, PAYER2):
        usdc.functions.mint(payer, 10**30).transact({"from": OWNER})
        for spender in (payments.address, escrow.address):
            usdc.functions.approve(spender, 2**256 - 1).transact({"from": payer})
    manifest = dict(result.manifest)
    manifest["tokens"] = {"USDC": {"address": usdc.address, "decimals": 6, "contract": "DevUSDC"}}
    (deployments / "local.json").write_text(json.dumps(manifest, indent=2))
    network = replace(
        BUILTIN["local"],
        rpc_urls=(url,),
        contracts=DeployedContracts(payments=payments.address, escrow=escrow.address),
        assets={"ETH": Asset("ETH", None, 18), "USDC": Asset("USDC", usdc.address, 6, stablecoin=True)},
    )
    deploy_block = min(int(c["block_number"]) for c in contracts.values())
    return ChainEnv(
        url,
        w3,
        Rpc(url),
        int(w3.eth.chain_id),
        payments,
        escrow,
        usdc,
        deploy_block,
        deployments,
        Registry({"local": network}),
    )


def indexer_settings(db_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": db_url,
        "operator_key": OPERATOR_KEY,
        "indexer_poll_seconds": 0.05,
        "indexer_leader_poll_seconds": 0.2,
        "indexer_metrics_port": None,
    }
    values.update(overrides)
    return Settings(**values)


# ------------------------------------------------------------------------------------------ intents


@dataclass
class Intent:
    """A stored intent and the signed struct the chain sees."""

    id: str
    kind: ContractKind
    onchain: OnchainIntent
    signature: bytes
    row: dict[str, Any] = field(repr=False)


def create_merchant(db_url: str) -> str:
    merchant_id = new_id("acct")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO merchants (id, name, payout_addresses, created_at) VALUES (%s, %s, %s, now())",
            (merchant_id, "Indexer test", json.dumps({"evm": MERCHANT})),
        )
    return merchant_id


def make_intents(
    env: ChainEnv,
    db_url: str,
    merchant_id: str,
    count: int,
    *,
    kind: ContractKind = "payments",
    token: str | None = None,
    amount: int = 10_000_000,
    allow_partial: bool = False,
    nonce_start: int | None = None,
) -> list[Intent]:
    """`count` signed intents (USDC unless `token` is ZERO_ADDRESS), stored as requires_payment."""
    token = env.usdc.address if token is None else token
    contract = env.contract(kind).address
    now = datetime.now(UTC).replace(microsecond=0)
    chain_now = int(env.w3.eth.get_block("latest")["timestamp"])
    deadline = max(int(now.timestamp()), chain_now) + 30 * 86400
    reclaim = deadline + 86400 if kind == "escrow" else 0
    splits = tuple(Split(s["recipient"], s["bps"]) for s in SPLITS)
    start = nonce_start if nonce_start is not None else int.from_bytes(os.urandom(6), "big") << 16
    out = []
    for i in range(count):
        onchain = OnchainIntent(
            id=new_intent_id(),
            nonce=start + i,
            token=token,
            amount=amount,
            payer=PAYER if allow_partial else ZERO_ADDRESS,  # partial escrows must name their payer
            deadline=deadline,
            merchant=MERCHANT,
            splits=splits,
            reclaim_after=reclaim,
            allow_partial=allow_partial,
        )
        signature = sign_payment_intent(
            onchain, bytes.fromhex(OPERATOR_KEY[2:]), chain_id=env.chain_id, contract=contract, kind=kind
        )
        intent_id = new_id("pi")
        row = {
            "id": intent_id,
            "merchant_id": merchant_id,
            "livemode": False,
            "status": "requires_payment",
            "capture_method": "automatic" if kind == "payments" else "manual",
            "rail": "evm-contract",
            "network": "local",
            "chain_id": env.chain_id,
            "asset": "ETH" if token == ZERO_ADDRESS else "USDC",
            "token_address": None if token == ZERO_ADDRESS else token,
            "decimals": 18 if token == ZERO_ADDRESS else 6,
            "amount": amount,
            "amount_received": 0,
            "amount_capturable": 0,
            "amount_refunded": 0,
            "onchain_id": onchain.id,
            "nonce": onchain.nonce,
            "contract_address": contract,
            "payer": PAYER if allow_partial else None,
            "payout_address": MERCHANT,
            "splits": json.dumps(SPLITS),
            "deadline": datetime.fromtimestamp(deadline, UTC),
            "reclaim_after": datetime.fromtimestamp(reclaim, UTC) if reclaim else None,
            "allow_partial": allow_partial,
            "signature": signature,
            "client_secret": f"{intent_id}_secret_{random_token(24)}",
            "metadata": "{}",
            "expires_at": datetime.fromtimestamp(deadline, UTC),
            "created_at": now,
            "updated_at": now,
        }
        out.append(Intent(intent_id, kind, onchain, signature, row))
    columns = list(out[0].row) if out else []
    statement = f"COPY payment_intents ({', '.join(columns)}) FROM STDIN"
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        conn.cursor() as cur,
        cur.copy(statement) as copy,  # type: ignore[arg-type]
    ):
        for intent in out:
            copy.write_row([intent.row[c] for c in columns])
    return out


# ------------------------------------------------------------------------------------------ payments


def _tx(sender: str, to: str, data: str, value: int = 0) -> dict[str, Any]:
    return {"from": sender, "to": to, "data": data, "value": hex(value), "gas": hex(GAS)}


_INTENT_TUPLE = "(bytes32,uint256,address,uint256,address,uint256,address,(address,uint16)[],uint256,bool)"
_PAY_SELECTOR = keccak(text=f"pay({_INTENT_TUPLE},bytes)")[:4]


def pay_tx(env: ChainEnv, intent: Intent, payer: str = PAYER) -> dict[str, Any]:
    """SluicePayments.pay(intent, signature) (encoded with eth-abi: web3's encoder is ~4 ms a call)."""
    value = intent.onchain.amount if intent.onchain.token == ZERO_ADDRESS else 0
    args = encode([_INTENT_TUPLE, "bytes"], [intent.onchain.as_tuple(), intent.signature])
    return _tx(payer, env.payments.address, "0x" + (_PAY_SELECTOR + args).hex(), value)


def deposit_tx(
    env: ChainEnv, intent: Intent, amount: int | None = None, payer: str = PAYER
) -> dict[str, Any]:
    amount = intent.onchain.amount if amount is None else amount
    value = amount if intent.onchain.token == ZERO_ADDRESS else 0
    data = env.escrow.encode_abi("deposit", [intent.onchain.as_tuple(), intent.signature, amount])
    return _tx(payer, env.escrow.address, data, value)


def escrow_call_tx(
    env: ChainEnv, intent: Intent, action: str, amount: int | None = None, payer: str = PAYER
) -> dict[str, Any]:
    """capture/refund (with amount), void, by the merchant; reclaim by the payer. The escrow keys the
    intent completed with its depositor, `payer`."""
    args: list[Any] = [replace(intent.onchain, payer=payer).as_tuple()]
    if amount is not None:
        args.append(amount)
    sender = PAYER if action == "reclaim" else MERCHANT
    return _tx(sender, env.escrow.address, env.escrow.encode_abi(action, args))


def send_blocks(env: ChainEnv, txs: Sequence[dict[str, Any]], per_block: int) -> list[str]:
    """Sends the transactions `per_block` to a block (automine off meanwhile); returns their hashes
    after checking every receipt succeeded."""
    rpc = env.rpc
    nonces: dict[str, int] = {}
    for sender in {tx["from"] for tx in txs}:
        nonces[sender] = int(rpc.call("eth_getTransactionCount", sender, "pending"), 16)
    gas_price = hex(int(rpc.call("eth_gasPrice"), 16) * 2)
    numbered = []
    for tx in txs:  # explicit nonces: anvil answers a batch concurrently
        numbered.append({**tx, "nonce": hex(nonces[tx["from"]]), "gasPrice": gas_price})
        nonces[tx["from"]] += 1
    rpc.call("evm_setAutomine", False)
    hashes: list[str] = []
    try:
        for i in range(0, len(numbered), per_block):
            chunk = numbered[i : i + per_block]
            hashes.extend(rpc.batch([("eth_sendTransaction", [tx]) for tx in chunk]))
            rpc.call("evm_mine")
    finally:
        rpc.call("evm_setAutomine", True)
    for i in range(0, len(hashes), 500):
        receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes[i : i + 500]])
        bad = [r["transactionHash"] for r in receipts if r is None or r["status"] != "0x1"]
        if bad:
            raise AssertionError(f"{len(bad)} transactions failed, e.g. {bad[0]}")
    return hashes


def send(env: ChainEnv, tx: dict[str, Any]) -> dict[str, Any]:
    """One transaction in its own block; returns the receipt."""
    tx_hash = env.rpc.call("eth_sendTransaction", tx)
    receipt = env.rpc.call("eth_getTransactionReceipt", tx_hash)
    for _ in range(200):  # mined at once, but the receipt may trail under load
        if receipt is not None:
            break
        time.sleep(0.01)
        receipt = env.rpc.call("eth_getTransactionReceipt", tx_hash)
    assert receipt is not None and receipt["status"] == "0x1", receipt
    return dict(receipt)


# ------------------------------------------------------------------------------------------ indexer


async def index_until(
    env: ChainEnv,
    db_url: str,
    target_block: int | None = None,
    *,
    settings: Settings | None = None,
    timeout: float = 60.0,
) -> None:
    """Runs the indexer in-process until its checkpoint reaches `target_block` (default: the head)."""
    from indexer.runner import run

    target = env.rpc.head() if target_block is None else target_block
    stop = asyncio.Event()
    task = asyncio.create_task(
        run(
            settings or indexer_settings(db_url),
            ["local"],
            stop,
            registry=env.registry,
            start_blocks={"local": env.deploy_block},
        )
    )
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while checkpoint(db_url) < target:
            if task.done():
                task.result()
                raise AssertionError("the indexer stopped before reaching the target")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"indexer stuck at {checkpoint(db_url)} < {target}")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def checkpoint(db_url: str, network: str = "local") -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT last_block FROM indexer_state WHERE network = %s", (network,)).fetchone()
    return -1 if row is None else int(row[0])


def snapshot(db_url: str) -> dict[str, Any]:
    """The indexer's visible results: canonical ledger entries, intent states, outbox event counts,
    checkpoint."""
    with psycopg.connect(db_url) as conn:
        events = conn.execute(
            "SELECT network, rail, source, kind, reason, intent_ref, payment_intent_id, "
            "merchant_id, tx_id, block_index, tx_index, height, block_id, block_time, payer, "
            "merchant, asset, amount, merchant_amount, fee_amounts, total FROM ledger_entries "
            "ORDER BY height, block_index"
        ).fetchall()
        intents = conn.execute(
            "SELECT id, status, amount_received, amount_capturable, amount_refunded FROM payment_intents "
            "ORDER BY id"
        ).fetchall()
        state = conn.execute("SELECT last_block, last_hash FROM indexer_state").fetchall()
    return {"events": events, "intents": intents, "state": state}


def reset_index(db_url: str) -> None:
    """Forgets everything the indexer wrote (a fresh re-index starts from here)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM ledger_entries")
        conn.execute("DELETE FROM indexer_blocks")
        conn.execute("DELETE FROM indexer_state")
        conn.execute("DELETE FROM events WHERE type <> 'payment_intent.created'")
        conn.execute(
            "UPDATE payment_intents SET status = 'requires_payment', amount_received = 0, "
            "amount_capturable = 0, amount_refunded = 0, canceled_at = NULL, cancellation_reason = NULL"
        )


def event_counts(db_url: str) -> dict[str, int]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT type, count(*) FROM events GROUP BY type").fetchall()
    return {r[0]: int(r[1]) for r in rows}


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)
