"""A chain for sweep tests: Sluice deployed with `sluice.chain.deploy` (so SluiceDeposits is in the
manifest), DevUSDC, and intents paid by plain transfers to their deposit addresses, recorded in the
database as the evm-deposit rail's indexer records them (`received` ledger entries, intent succeeded)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3, Web3
from web3.contract import Contract

from sluice.chain.deploy import DeployParams, LocalSender, deploy
from sluice.chain.keys import ANVIL_RELAYER_KEY
from sluice.chain.network_config import NetworkConfig
from sluice.chain.registry import BUILTIN, Asset, DeployedContracts
from sluice.contracts import load_artifact
from sluice.deposits import DepositTerms, deposit_address

from chains import ANVIL_KEYS
from indexer_env import MERCHANT, OPERATOR, OWNER, PAYER, SPLITS, make_intents

RELAYER = Account.from_key(ANVIL_RELAYER_KEY)
AMOUNT = 10_000_000


@dataclass
class SweepEnv:
    url: str
    w3: Web3
    chain_id: int
    usdc: Contract
    deposits: Contract
    payments: Contract
    network: NetworkConfig
    deployments: Path

    def contract(self, kind: str) -> Contract:  # what indexer_env.make_intents signs for
        return self.payments

    def async_w3(self) -> AsyncWeb3:
        return AsyncWeb3(AsyncHTTPProvider(self.url))

    def head(self) -> int:
        return int(self.w3.eth.block_number)

    def swept_events(self) -> list[dict[str, Any]]:
        logs = self.deposits.events.Swept().get_logs(from_block=0)
        return [dict(lg["args"]) for lg in logs]


def deploy_sweep_env(url: str, deployments: Path) -> SweepEnv:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    owner = Account.from_key(ANVIL_KEYS[0])
    result = deploy(
        w3,
        "local",
        LocalSender(owner),
        DeployParams(owner=owner.address, operator=OPERATOR, relayer=RELAYER.address),
        directory=deployments,
    )
    contracts = result.manifest["contracts"]
    deposits = w3.eth.contract(
        address=contracts["SluiceDeposits"]["address"], abi=load_artifact("SluiceDeposits").abi
    )
    artifact = load_artifact("DevUSDC")
    tx = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode).constructor().transact({"from": OWNER})
    usdc = w3.eth.contract(
        address=w3.eth.wait_for_transaction_receipt(tx)["contractAddress"], abi=artifact.abi
    )
    usdc.functions.mint(PAYER, 10**30).transact({"from": OWNER})
    for holder in (MERCHANT, *(s["recipient"] for s in SPLITS)):  # steady state: payees hold the token
        usdc.functions.mint(holder, 1).transact({"from": OWNER})
    manifest = dict(result.manifest)
    manifest["tokens"] = {"USDC": {"address": usdc.address, "decimals": 6, "contract": "DevUSDC"}}
    (deployments / "local.json").write_text(json.dumps(manifest, indent=2))
    network = replace(
        BUILTIN["local"],
        rpc_urls=(url,),
        contracts=DeployedContracts(
            payments=contracts["SluicePayments"]["address"],
            escrow=contracts["SluiceEscrow"]["address"],
            deposits=deposits.address,
        ),
        assets={"ETH": Asset("ETH", None, 18), "USDC": Asset("USDC", usdc.address, 6, stablecoin=True)},
    )
    payments = w3.eth.contract(
        address=contracts["SluicePayments"]["address"], abi=load_artifact("SluicePayments").abi
    )
    return SweepEnv(url, w3, int(w3.eth.chain_id), usdc, deposits, payments, network, deployments)


@dataclass
class PaidIntent:
    id: str
    terms: DepositTerms
    address: str


def terms_of(env: SweepEnv, intent: Any) -> DepositTerms:
    return DepositTerms.of(
        intent_ref=intent.onchain.id,
        chain_id=env.chain_id,
        merchant=MERCHANT,
        token=intent.row["token_address"],
        amount=intent.onchain.amount,
        splits=SPLITS,
    )


def paid_intents(
    env: SweepEnv, db_url: str, merchant_id: str, count: int, *, paid: int | None = None, native: bool = False
) -> list[PaidIntent]:
    """`count` intents of the evm-deposit rail, each paid `paid` (default: the amount) by a plain
    transfer to its deposit address, with the `received` entry and status the indexer would write."""
    token = "0x" + "00" * 20 if native else env.usdc.address
    amount = 10**16 if native else AMOUNT
    made = make_intents(env, db_url, merchant_id, count, token=token, amount=amount)  # type: ignore[arg-type]
    out = []
    for intent in made:
        terms = terms_of(env, intent)
        address = deposit_address(env.network, terms)
        value = amount if paid is None else paid
        if native:
            tx = env.w3.eth.send_transaction({"from": PAYER, "to": address, "value": value})
        else:
            tx = env.usdc.functions.transfer(address, value).transact({"from": PAYER})
        receipt = env.w3.eth.wait_for_transaction_receipt(tx)
        block = env.w3.eth.get_block(receipt["blockNumber"])
        record_received(env, db_url, intent.id, merchant_id, terms, address, receipt, block, value)
        out.append(PaidIntent(intent.id, terms, address))
    return out


def record_received(
    env: SweepEnv,
    db_url: str,
    intent_id: str,
    merchant_id: str,
    terms: DepositTerms,
    address: str,
    receipt: Any,
    block: Any,
    value: int,
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE payment_intents SET rail = 'evm-deposit', contract_address = %s, "
            "status = CASE WHEN %s >= amount THEN 'succeeded' ELSE 'requires_payment' END, "
            "amount_received = %s WHERE id = %s",
            (address, value, value, intent_id),
        )
        conn.execute(
            "INSERT INTO ledger_entries (network, chain_id, rail, source, kind, intent_ref, "
            "payment_intent_id, merchant_id, tx_id, block_index, tx_index, height, block_id, block_time, "
            "payer, asset, amount, created_at) "
            "VALUES ('local', %s, 'evm-deposit', %s, 'received', %s, %s, %s, %s, 0, %s, %s, %s, "
            "%s, %s, %s, %s, now())",
            (
                env.chain_id,
                address,
                terms.id,
                intent_id,
                merchant_id,
                receipt["transactionHash"].to_0x_hex(),
                (1 << 20),
                int(receipt["blockNumber"]),
                block["hash"].to_0x_hex(),
                datetime.fromtimestamp(int(block["timestamp"]), UTC),
                PAYER,
                terms.token,
                value,
            ),
        )


def set_confirmed(db_url: str, height: int) -> None:
    """The indexer's checkpoint and confirmed height of the local network."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO indexer_state (network, chain_id, last_block, head_block, confirmed_block, "
            "updated_at) VALUES ('local', 31337, %s, %s, %s, now()) ON CONFLICT (network) DO UPDATE SET "
            "last_block = excluded.last_block, head_block = excluded.head_block, "
            "confirmed_block = excluded.confirmed_block",
            (height, height, height),
        )


def sweep_rows(db_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(db_url) as conn:
        # The intent's share of the gas is in relay_transactions (the one record of the operator's cost).
        cur = conn.execute(
            "SELECT s.payment_intent_id, s.outcome, r.gas_used, r.fee_paid, s.tx_hash, t.status, t.gas_used, "
            "r.status, r.tx_hash "
            "FROM deposit_sweeps s JOIN deposit_sweep_txs t USING (tx_hash) "
            "LEFT JOIN relay_transactions r ON r.payment_intent_id = s.payment_intent_id "
            "AND r.action = 'sweep' AND r.tx_hash = ANY(t.versions) ORDER BY s.id"
        )
        keys = [
            "intent", "outcome", "gas_used", "fee_wei", "tx_hash", "tx_status", "tx_gas_used",
            "relay_status", "relay_tx",
        ]  # fmt: skip
        return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
