"""Reconciliation: what the chain reports, read straight from it, against the ledger.

For one network and block range (up to the indexer's checkpoint, which is all the database can know),
every Sluice contract log is fetched with eth_getLogs, turned into ledger entries by the rail's own
decoder, and compared with `ledger_entries` one by one (missing, extra, amount differs) and with the
intents' amounts (received, refunded); sums per merchant, asset and entry type (the report row types:
payment, escrow_deposit, capture, refund, void, reclaim) are stored beside the mismatches. A run is
"clean" only when nothing differs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from web3 import AsyncWeb3
from web3.exceptions import Web3RPCError

from sluice.chain.deploy import read_manifest
from sluice.chain.events import log_filter
from sluice.chain.intents import ContractKind
from sluice.chain.network_config import NetworkConfig
from sluice.chain.rpc import async_web3
from sluice.clock import utcnow
from sluice.errors import NetworkError
from sluice.ledger.entries import EntryKind, LedgerEntry
from sluice.models.chain import IndexerState, LedgerRow
from sluice.models.payment_intent import PaymentIntent
from sluice.models.reports import ReconciliationRun
from sluice.rails.evm_contract import entries_of
from sluice.reports.queries import TYPE_OF_KIND

RECEIVED = (EntryKind.received, EntryKind.escrow_deposited)
RETURNED = (EntryKind.refunded, EntryKind.released)


def _type(kind: str, reason: str | None) -> str:
    """An entry's report type (payment, escrow_deposit, capture, refund, void, reclaim)."""
    return TYPE_OF_KIND[(str(kind), None if reason is None else str(reason))]


@dataclass(frozen=True)
class Intent:
    id: str
    merchant_id: str
    token: str | None
    amount_received: int
    amount_refunded: int


def _key(tx_id: str, tx_index: int) -> tuple[str, int]:
    return tx_id.lower(), tx_index


async def checkpoint(session: AsyncSession, network: str) -> int | None:
    """The last block the indexer committed for `network` (None: never indexed)."""
    return (
        await session.execute(select(IndexerState.last_block).where(IndexerState.network == network))
    ).scalar_one_or_none()


async def _intents(session: AsyncSession, onchain_ids: Iterable[bytes]) -> dict[bytes, Intent]:
    ids = list(set(onchain_ids))
    found: dict[bytes, Intent] = {}
    for start in range(0, len(ids), 5000):
        rows = await session.execute(
            select(
                PaymentIntent.onchain_id,
                PaymentIntent.id,
                PaymentIntent.merchant_id,
                PaymentIntent.token_address,
                PaymentIntent.amount_received,
                PaymentIntent.amount_refunded,
            ).where(PaymentIntent.onchain_id.in_(ids[start : start + 5000]))
        )
        for r in rows:
            found[bytes(r[0])] = Intent(r[1], r[2], r[3], int(r[4]), int(r[5]))
    return found


def _mismatch(kind: str, merchant_id: str | None, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "merchant_id": merchant_id, **fields}


async def reconcile(
    session: AsyncSession,
    network: str,
    chain_events: Sequence[LedgerEntry],
    *,
    from_block: int,
    to_block: int,
) -> ReconciliationRun:
    """Compares `chain_events` (the entries of every Sluice log of blocks from_block..to_block) with
    the ledger and stores the run in the caller's transaction."""
    db_rows = list(
        (
            await session.execute(
                select(LedgerRow).where(
                    LedgerRow.network == network,
                    LedgerRow.height >= from_block,
                    LedgerRow.height <= to_block,
                )
            )
        ).scalars()
    )
    intents = await _intents(session, [e.intent_ref for e in chain_events])
    stored = {_key(r.tx_id, r.tx_index): r for r in db_rows}
    on_chain = {_key(e.tx_id, e.position.tx_index): e for e in chain_events}
    mismatches: list[dict[str, Any]] = []
    totals: dict[tuple[str | None, str | None, str], list[int]] = defaultdict(lambda: [0, 0])

    for key, event in on_chain.items():
        intent = intents.get(event.intent_ref)
        merchant = intent.merchant_id if intent else None
        label = _type(event.kind, event.reason)
        totals[(merchant, intent.token if intent else None, label)][0] += event.amount
        row = stored.get(key)
        common = {
            "tx_hash": event.tx_id,
            "tx_log_index": event.position.tx_index,
            "block_number": event.position.height,
            "event": label,
            "payment_intent": intent.id if intent else None,
        }
        if row is None:
            mismatches.append(_mismatch("missing", merchant, chain_amount=str(event.amount), **common))
        elif (_type(row.kind, row.reason), row.amount, row.merchant_amount) != (
            label,
            event.amount,
            event.merchant_amount,
        ):
            mismatches.append(
                _mismatch(
                    "amount_differs",
                    merchant,
                    chain_amount=str(event.amount),
                    database_amount=str(row.amount),
                    chain_merchant_amount=None
                    if event.merchant_amount is None
                    else str(event.merchant_amount),
                    database_merchant_amount=None
                    if row.merchant_amount is None
                    else str(row.merchant_amount),
                    database_event=_type(row.kind, row.reason),
                    **common,
                )
            )
    for key, row in stored.items():
        totals[(row.merchant_id, row.asset, _type(row.kind, row.reason))][1] += row.amount
        if key not in on_chain:
            mismatches.append(
                _mismatch(
                    "extra",
                    row.merchant_id,
                    tx_hash=row.tx_id,
                    tx_log_index=row.tx_index,
                    block_number=row.height,
                    event=_type(row.kind, row.reason),
                    payment_intent=row.payment_intent_id,
                    database_amount=str(row.amount),
                )
            )

    # Intents: what the chain says each one received and returned, against the intent's amounts.
    # Only intents whose whole history lies in the range can be judged; the full range is the default.
    if from_block == 0 or await _whole_history(session, network, from_block):
        received: dict[bytes, int] = defaultdict(int)
        returned: dict[bytes, int] = defaultdict(int)
        for event in on_chain.values():
            if event.kind in RECEIVED:
                received[event.intent_ref] += event.amount
            elif event.kind in RETURNED:
                returned[event.intent_ref] += event.amount
        for onchain_id, intent in intents.items():
            chain_in, chain_out = received.get(onchain_id, 0), returned.get(onchain_id, 0)
            if (intent.amount_received, intent.amount_refunded) != (chain_in, chain_out):
                mismatches.append(
                    _mismatch(
                        "intent_differs",
                        intent.merchant_id,
                        payment_intent=intent.id,
                        chain_received=str(chain_in),
                        database_received=str(intent.amount_received),
                        chain_returned=str(chain_out),
                        database_returned=str(intent.amount_refunded),
                    )
                )

    run = ReconciliationRun(
        network=network,
        from_block=from_block,
        to_block=to_block,
        status="mismatch" if mismatches else "clean",
        chain_events=len(on_chain),
        db_events=len(stored),
        totals=[
            {"merchant_id": m, "token": t, "event": n, "chain": str(c), "database": str(d)}
            for (m, t, n), (c, d) in sorted(totals.items(), key=lambda kv: tuple(str(x) for x in kv[0]))
        ],
        mismatches=mismatches,
        finished_at=utcnow(),
    )
    session.add(run)
    await session.flush()
    return run


async def _whole_history(session: AsyncSession, network: str, from_block: int) -> bool:
    """True when no stored event of `network` lies before `from_block`."""
    earlier = await session.execute(
        select(func.count())
        .select_from(LedgerRow)
        .where(LedgerRow.network == network, LedgerRow.height < from_block)
    )
    return int(earlier.scalar_one()) == 0


async def latest_runs(session: AsyncSession, networks: Sequence[str]) -> list[ReconciliationRun]:
    """The most recent run of each of `networks`."""
    latest = (
        select(ReconciliationRun.network, func.max(ReconciliationRun.created_at).label("at"))
        .where(ReconciliationRun.network.in_(networks))
        .group_by(ReconciliationRun.network)
        .subquery()
    )
    stmt = select(ReconciliationRun).join(
        latest,
        (latest.c.network == ReconciliationRun.network) & (latest.c.at == ReconciliationRun.created_at),
    )
    return list((await session.execute(stmt.order_by(ReconciliationRun.network))).scalars())


# ------------------------------------------------------------------------------ reading the chain

#: eth_getLogs window; halved when a node refuses a range, never below one block.
LOG_WINDOW = 5_000


async def fetch_chain_events(
    w3: AsyncWeb3, network: str, contracts: Mapping[ContractKind, str], from_block: int, to_block: int
) -> list[LedgerEntry]:
    """The ledger entries of every Sluice log of the contracts in [from_block, to_block], in chain order."""
    logs: list[Any] = []
    start, window = from_block, LOG_WINDOW
    while start <= to_block:
        end = min(to_block, start + window - 1)
        try:
            chunk = await w3.eth.get_logs(log_filter(contracts, start, end))  # type: ignore[arg-type]
        except (Web3RPCError, ValueError) as exc:
            if window == 1:
                raise NetworkError(f"eth_getLogs failed for block {start}: {exc}") from exc
            window = max(1, window // 2)
            continue
        logs.extend(chunk)
        start = end + 1
    return entries_of(network, logs)


def start_block(network: NetworkConfig) -> int:
    """The first block that can hold Sluice events: the earliest recorded deployment, else 0."""
    manifest = read_manifest(network.name) or {}
    blocks = [
        int(entry["block_number"])
        for entry in manifest.get("contracts", {}).values()
        if isinstance(entry, dict) and entry.get("block_number") is not None
    ]
    return min(blocks) if blocks else 0


async def run_reconciliation(
    sessions: async_sessionmaker[AsyncSession],
    network: NetworkConfig,
    *,
    from_block: int | None = None,
    w3: AsyncWeb3 | None = None,
) -> ReconciliationRun:
    """Reconciles `network` from `from_block` (default: its deployment) up to the indexer's
    checkpoint and stores the run. Raises when the network was never indexed."""
    contracts = {
        kind: address
        for kind, address in (("payments", network.contracts.payments), ("escrow", network.contracts.escrow))
        if address
    }
    if not contracts:
        raise NetworkError(f"no Sluice contracts recorded for {network.name}")
    async with sessions() as session:
        to_block = await checkpoint(session, network.name)
    if to_block is None:
        raise NetworkError(
            f"{network.name} has not been indexed yet: run `sluice indexer --network {network.name}`"
        )
    first = start_block(network) if from_block is None else from_block
    events = await fetch_chain_events(w3 or async_web3(network), network.name, contracts, first, to_block)  # type: ignore[arg-type]
    async with sessions() as session, session.begin():
        return await reconcile(session, network.name, events, from_block=first, to_block=to_block)


#: pg_try_advisory_xact_lock key: one scheduled reconciliation at a time across workers.
RECONCILE_LOCK = 0x51_0002


async def reconcile_indexed_networks(
    sessions: async_sessionmaker[AsyncSession], networks: Iterable[NetworkConfig]
) -> list[ReconciliationRun]:
    """The scheduled job: every network with contracts, an RPC URL and an indexer checkpoint, unless
    another worker is already at it (advisory lock held by a session open for the whole run)."""
    runs: list[ReconciliationRun] = []
    async with sessions() as guard, guard.begin():
        locked = (await guard.execute(select(func.pg_try_advisory_xact_lock(RECONCILE_LOCK)))).scalar_one()
        if not locked:
            return runs
        for network in networks:
            if not (network.contracts.payments or network.contracts.escrow) or not network.rpc_urls:
                continue
            if await checkpoint(guard, network.name) is None:
                continue
            runs.append(await run_reconciliation(sessions, network))
    return runs
