"""The sweep job: moves the funds of paid deposit addresses to their merchants and splits, in batches.

One run for one network (`Sweeper.run_once`):

1. **Reconcile** every sweep transaction not yet final from the chain: a receipt of any of its signed
   versions records the block, each intent's outcome (`Swept` / `SweepSkipped` of the factory) and
   each intent's share of the gas (`relay_transactions`, action `sweep`: the one record of what the
   operator paid per intent); a transaction the node does not know is sent again exactly as signed
   (same hash, same nonce) unless its nonce went to another transaction (then it is `dropped` and its
   intents are planned again); a mined one that left the canonical chain goes back to `sent` (and is
   re-sent); one at the network's finality depth is `confirmed`. One the node knows but has not mined
   is handed to the relayer nonce manager, which replaces it if it is stuck.
2. **Plan** a batch: intents paid through their deposit address (`received` ledger entries of the
   `evm-deposit` rail at or below the indexer's confirmed height adding up to the amount, and the
   intent `succeeded`) without a live sweep and not swept by anyone else (a `swept` ledger entry: anyone
   may call `sweep`), whose address still holds the amount on chain.
3. **Send** it through the relayer nonce manager (sluice.chain.relayer, the one sender of the relayer
   key's transactions: nonces, several in flight, stuck ones replaced with the same nonce and a higher
   fee). Its `before_send` hook writes each signed version with the batch's intents (`planned`) in one
   database transaction **before** the version is broadcast; the partial unique index on live sweeps
   refuses a second sweep of the same intent. Then the row is marked `sent` and the receipt awaited
   briefly (else the next run reconciles).

A crash anywhere leaves at worst a `planned` or `sent` row whose signed transaction the next run finds
on chain or sends again: the same funds are never swept by two transactions. And the contract itself
sweeps an address only while it holds the intent's amount, so even a duplicate could only move a
later payment to the same merchant and splits.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from eth_utils import to_checksum_address
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.chain.hashing import checksum, keccak
from sluice.chain.relayer import RelayerNonceManager, SignedVersion
from sluice.db.session import transaction
from sluice.deposits.calldata import sweep_calldata
from sluice.deposits.terms import DepositTerms, deposit_address, factory_address
from sluice.models.deposit_sweep import DepositSweep, DepositSweepTx, SweepOutcome, SweepTxStatus
from sluice.models.relay import RelayTransaction
from sluice.rails.evm_deposit import SWEPT_TOPIC

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import AsyncWeb3

    from sluice.chain.network_config import NetworkConfig

log = structlog.get_logger(__name__)

#: The rail whose `received` entries mark an intent paid through its deposit address.
DEPOSIT_RAIL = "evm-deposit"
#: Deposit addresses per sweep transaction (gas per address flattens out past ~10; see docs/contracts.md).
DEFAULT_BATCH_SIZE = 50
#: Test hook: SLUICE_SWEEP_FAULT=after_plan|after_send kills the process (SIGKILL) at that point
#: (after_plan: the signed sweep is recorded, not yet broadcast).
FAULT_ENV = "SLUICE_SWEEP_FAULT"
#: The relay_transactions action of a sweep.
SWEEP_ACTION = "sweep"

SKIPPED_TOPIC = "0x" + keccak(b"SweepSkipped(bytes32,address,uint256)").hex()
_ERC20_BALANCE_OF = keccak(b"balanceOf(address)")[:4]

#: Paid intents of a network without a live sweep: final `received` deposit entries adding up to the amount.
_CANDIDATES = text(
    """
    SELECT pi.id, pi.merchant_id, pi.onchain_id, pi.chain_id, pi.payout_address, pi.token_address,
           pi.amount, pi.splits, array_agg(DISTINCT lower(le.source)) AS sources
    FROM payment_intents pi
    JOIN ledger_entries le ON le.payment_intent_id = pi.id
    WHERE pi.network = :network
      AND pi.status = 'succeeded'
      AND le.rail = :rail AND le.kind = 'received' AND le.height <= :final_height
      AND NOT EXISTS (
          SELECT 1 FROM deposit_sweeps s
          WHERE s.payment_intent_id = pi.id AND s.outcome IN ('pending', 'swept')
      )
      AND NOT EXISTS (  -- swept by anyone (the factory's Swept event, recorded by the indexer)
          SELECT 1 FROM ledger_entries sw
          WHERE sw.payment_intent_id = pi.id AND sw.rail = :rail AND sw.kind = 'swept'
      )
    GROUP BY pi.id
    HAVING sum(le.amount) >= pi.amount
    ORDER BY min(le.height), pi.id
    LIMIT :limit
    """
)


@dataclass(frozen=True)
class Candidate:
    """A paid intent's deposit address, ready to sweep."""

    intent_id: str
    merchant_id: str
    terms: DepositTerms
    address: str


@dataclass
class SweepRun:
    """What one run did."""

    network: str
    reconciled: dict[str, str] = field(default_factory=dict)  # tx hash → status after reconciling
    sent: list[str] = field(default_factory=list)
    planned_intents: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # paid in the ledger, not (or no longer) on chain


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


class Sweeper:
    """Sweeps one network's paid deposit addresses with the relayer key."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        network: NetworkConfig,
        w3: AsyncWeb3,
        relayer: LocalAccount,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        receipt_wait: float = 5.0,
        manager: RelayerNonceManager | None = None,
    ) -> None:
        self.sessions = sessions
        self.network = network
        self.w3 = w3
        self.relayer = relayer
        self.batch_size = batch_size
        self.receipt_wait = receipt_wait
        self.factory = factory_address(network)
        #: The relayer key's sender in this process (share the process's own: sluice.intents.relaying).
        self.manager = manager or RelayerNonceManager(w3, network, relayer)

    # ------------------------------------------------------------------ run

    async def run_once(self) -> SweepRun:
        run = SweepRun(self.network.name)
        head = int(await self.w3.eth.block_number)
        async with transaction(self.sessions) as session:
            open_txs = (
                await session.scalars(
                    select(DepositSweepTx)
                    .where(
                        DepositSweepTx.network == self.network.name,
                        DepositSweepTx.status.in_(
                            (SweepTxStatus.planned, SweepTxStatus.sent, SweepTxStatus.mined)
                        ),
                    )
                    .order_by(DepositSweepTx.nonce)
                )
            ).all()
        for tx in open_txs:
            run.reconciled[tx.tx_hash] = await self.reconcile(tx.tx_hash, head)
        if any(status in (SweepTxStatus.planned, SweepTxStatus.sent) for status in run.reconciled.values()):
            return run  # one batch in flight at a time: its nonce must settle before the next
        planned = await self.plan(run)
        if planned is None:
            return run
        _fault("after_send")
        await self._mark(planned.tx_hash, SweepTxStatus.sent, only_if=SweepTxStatus.planned)
        run.sent.append(planned.tx_hash)
        if await self._wait_for_receipt(planned.tx_hash):
            run.reconciled[planned.tx_hash] = await self.reconcile(planned.tx_hash, head=None)
        return run

    # ------------------------------------------------------------------ plan

    async def candidates(self, session: AsyncSession) -> list[Candidate]:
        final_height = await self._final_height(session)
        rows = await session.execute(
            _CANDIDATES,
            {
                "network": self.network.name,
                "rail": DEPOSIT_RAIL,
                "final_height": final_height,
                "limit": self.batch_size,
            },
        )
        out = []
        for intent_id, merchant_id, ref, chain_id, merchant, token, amount, splits, sources in rows:
            terms = DepositTerms.of(
                intent_ref=bytes(ref),
                chain_id=int(chain_id),
                merchant=merchant,
                token=token,
                amount=int(amount),
                splits=splits,
            )
            address = deposit_address(self.network, terms)
            if set(sources) != {address.lower()}:  # the rail derived another address: never guess
                log.error("deposit_address_mismatch", intent=intent_id, derived=address, observed=sources)
                continue
            out.append(Candidate(intent_id, merchant_id, terms, address))
        return out

    async def plan(self, run: SweepRun) -> DepositSweepTx | None:
        """Picks the paid addresses still funded and sends one sweep of them through the relayer nonce
        manager, each signed version recorded (`planned`) before it is broadcast."""
        async with transaction(self.sessions) as session:
            # One planner per network at a time (the unique index would refuse a second plan anyway).
            locked = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"),
                {"key": f"sweep:{self.network.name}"},
            )
            if not locked:
                return None
            found = await self.candidates(session)
            if not found:
                return None
            balances = await asyncio.gather(*(self._balance(c.terms.token, c.address) for c in found))
            batch = [c for c, held in zip(found, balances, strict=True) if held >= c.terms.amount]
            run.waiting = [c.intent_id for c in found if c not in batch]
            if run.waiting:
                log.warning("deposit_sweep_waiting", network=self.network.name, intents=run.waiting)
            if not batch:
                return None
            from sluice.chain._utils import call_params
            from sluice.chain.gas import estimate_gas

            call = call_params(
                self.relayer.address, self.factory, sweep_calldata([c.terms for c in batch]).to_0x_hex()
            )
            gas = await estimate_gas(self.w3, call)
            record = _Recorder(self, batch)
            await self.manager.send(dict(call), gas, label="sweep", before_send=record)
        assert record.tx_hash is not None
        run.planned_intents = [c.intent_id for c in batch]
        log.info("deposit_sweep_sent", network=self.network.name, tx=record.tx_hash, size=len(batch))
        async with transaction(self.sessions) as session:
            tx = await session.get(DepositSweepTx, record.tx_hash)
            assert tx is not None
            return tx

    async def record_version(
        self, batch: Sequence[Candidate], first: str | None, version: SignedVersion
    ) -> str:
        """Writes a signed version of a sweep before it is broadcast: the first creates the transaction
        row, its intents (`pending`) and their relay_transactions rows; a later one (same nonce and a
        higher fee, or a new nonce after a collision) is added to the row's versions. Returns the row's
        id (its first hash)."""
        async with transaction(self.sessions) as session:
            if first is None:
                tx = DepositSweepTx(
                    tx_hash=version.tx_hash,
                    network=self.network.name,
                    sender=self.relayer.address,
                    nonce=version.nonce,
                    versions=[version.tx_hash],
                    raw_tx=version.raw,
                    unsigned_tx=version.tx,
                    status=SweepTxStatus.planned,
                    size=len(batch),
                )
                session.add(tx)
                await session.flush()
                session.add_all(
                    DepositSweep(
                        payment_intent_id=c.intent_id,
                        tx_hash=tx.tx_hash,
                        network=self.network.name,
                        deposit_address=c.address,
                        amount=c.terms.amount,
                        outcome=SweepOutcome.pending,
                    )
                    for c in batch
                )
                session.add_all(
                    RelayTransaction(
                        merchant_id=c.merchant_id,
                        payment_intent_id=c.intent_id,
                        network=self.network.name,
                        action=SWEEP_ACTION,
                        relayer=self.relayer.address,
                        nonce=version.nonce,
                        tx_hash=version.tx_hash,
                        status="pending",
                        replacements=0,
                    )
                    for c in batch
                )
                first = tx.tx_hash
            else:
                row = await session.get(DepositSweepTx, first, with_for_update=True)
                assert row is not None
                old = list(row.versions)
                row.versions = [*old, version.tx_hash]
                row.nonce, row.raw_tx, row.unsigned_tx = version.nonce, version.raw, version.tx
                await session.execute(
                    update(RelayTransaction)
                    .where(RelayTransaction.tx_hash.in_(old), RelayTransaction.action == SWEEP_ACTION)
                    .values(tx_hash=version.tx_hash, nonce=version.nonce, replacements=len(old))
                )
        _fault("after_plan")
        return first

    # ------------------------------------------------------------- reconcile

    async def reconcile(self, tx_hash: str, head: int | None) -> str:
        """Brings one sweep transaction's rows in line with the chain; returns its status."""
        async with transaction(self.sessions) as session:
            tx = await session.get(DepositSweepTx, tx_hash, with_for_update=True)
            assert tx is not None
            receipt = None
            for version in reversed(tx.versions or [tx.tx_hash]):
                receipt = await self._receipt(version)
                if receipt is not None:
                    break
            if receipt is None:
                return await self._not_in_chain(session, tx)
            if head is None:
                head = int(await self.w3.eth.block_number)
            await self._record_receipt(session, tx, receipt)
            if tx.status == SweepTxStatus.mined and head - int(receipt["blockNumber"]) + 1 >= max(
                self.network.confirmations, 1
            ):
                tx.status = SweepTxStatus.confirmed
                log.info("deposit_sweep_confirmed", tx=tx_hash, gas_used=tx.gas_used, size=tx.size)
            return str(tx.status)

    async def _not_in_chain(self, session: AsyncSession, tx: DepositSweepTx) -> str:
        versions = list(tx.versions or [tx.tx_hash])
        if tx.status == SweepTxStatus.mined:  # reorganised out: back to pending, sent again below
            log.warning("deposit_sweep_reorged", tx=tx.tx_hash, block=tx.block_number)
            tx.block_number = tx.block_hash = None
            tx.gas_used = tx.gas_price = None
            await self._set_outcomes(session, tx.tx_hash, SweepOutcome.pending)
            await self._set_costs(session, versions, status="pending")
        in_flight = self.manager.pending(tx.nonce)
        if in_flight is not None and in_flight.tx_hash in versions:
            tx.status = SweepTxStatus.sent  # this process sent it and watches it (replacing it if stuck)
            return str(tx.status)
        known = [v for v in versions if await self._known(v)]
        if not known:
            used = int(await self.w3.eth.get_transaction_count(to_checksum_address(tx.sender), "latest"))
            if used > tx.nonce:  # its nonce went to another transaction: it can never be mined
                tx.status = SweepTxStatus.dropped
                await self._set_outcomes(session, tx.tx_hash, SweepOutcome.failed)
                await self._set_costs(session, versions, status="dropped")
                log.warning("deposit_sweep_dropped", tx=tx.tx_hash, nonce=tx.nonce)
                return str(tx.status)
        await self._adopt(tx, rebroadcast=not known)
        tx.status = SweepTxStatus.sent
        return str(tx.status)

    async def _adopt(self, tx: DepositSweepTx, *, rebroadcast: bool) -> None:
        """Hands a recorded sweep to the relayer nonce manager (sent again as signed if the node lost it);
        its replacements are recorded like its first version."""
        if tx.unsigned_tx is None:  # recorded before versions were kept: send it again as it is
            if rebroadcast:
                await self.send(tx)
            return
        first = tx.tx_hash

        async def record(version: SignedVersion) -> None:
            await self.record_version((), first, version)

        await self.manager.adopt(
            tx.nonce,
            dict(tx.unsigned_tx),
            list(tx.versions or [tx.tx_hash]),
            bytes(tx.raw_tx),
            label="sweep",
            before_send=record,
            rebroadcast=rebroadcast,
        )

    async def _record_receipt(self, session: AsyncSession, tx: DepositSweepTx, receipt: Any) -> None:
        gas_used = int(receipt["gasUsed"])
        price = int(receipt.get("effectiveGasPrice") or 0)
        share = gas_used // max(tx.size, 1)
        mined = _hex(receipt["transactionHash"])
        tx.gas_used, tx.gas_price = gas_used, price
        tx.block_number = int(receipt["blockNumber"])
        tx.block_hash = _hex(receipt["blockHash"])
        succeeded = int(receipt["status"]) == 1
        await self._set_costs(
            session,
            list(tx.versions or [tx.tx_hash]),
            status="succeeded" if succeeded else "reverted",
            tx_hash=mined,
            gas_used=share,
            price=price,
        )
        if not succeeded:
            tx.status = SweepTxStatus.failed
            await self._set_outcomes(session, tx.tx_hash, SweepOutcome.failed)
            log.warning("deposit_sweep_failed", tx=tx.tx_hash)
            return
        if tx.status != SweepTxStatus.confirmed:
            tx.status = SweepTxStatus.mined
        swept, skipped = _outcomes(receipt["logs"], self.factory)
        rows = (await session.scalars(select(DepositSweep).where(DepositSweep.tx_hash == tx.tx_hash))).all()
        for row in rows:
            address = row.deposit_address.lower()
            row.outcome = (
                SweepOutcome.swept
                if address in swept
                else SweepOutcome.skipped
                if address in skipped
                else SweepOutcome.failed
            )

    async def _set_outcomes(self, session: AsyncSession, tx_hash: str, outcome: SweepOutcome) -> None:
        await session.execute(
            update(DepositSweep).where(DepositSweep.tx_hash == tx_hash).values(outcome=outcome)
        )

    async def _set_costs(
        self,
        session: AsyncSession,
        versions: Sequence[str],
        *,
        status: str,
        tx_hash: str | None = None,
        gas_used: int | None = None,
        price: int | None = None,
    ) -> None:
        """Each intent's share of the sweep's gas, in relay_transactions (None: not mined, or no more)."""
        values: dict[str, Any] = {
            "status": status,
            "gas_used": gas_used,
            "effective_gas_price": price,
            "fee_paid": None if gas_used is None or price is None else gas_used * price,
            "replacements": max(len(versions) - 1, 0),
        }
        if tx_hash is not None:
            values["tx_hash"] = tx_hash
        await session.execute(
            update(RelayTransaction)
            .where(RelayTransaction.tx_hash.in_(list(versions)), RelayTransaction.action == SWEEP_ACTION)
            .values(**values)
        )

    async def send(self, tx: DepositSweepTx) -> None:
        """Sends the recorded signed transaction again as it is; a node that has it is not an error."""
        try:
            await self.w3.eth.send_raw_transaction(tx.raw_tx)
        except Exception as exc:  # "already known", "nonce too low": the reconciliation decides
            log.warning("deposit_sweep_send_failed", tx=tx.tx_hash, error=str(exc))

    async def _mark(self, tx_hash: str, status: SweepTxStatus, *, only_if: SweepTxStatus) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                update(DepositSweepTx)
                .where(DepositSweepTx.tx_hash == tx_hash, DepositSweepTx.status == only_if)
                .values(status=status)
            )

    # --------------------------------------------------------------- chain

    async def _final_height(self, session: AsyncSession) -> int:
        """The indexer's confirmed height of the network (-1 before its first commit)."""
        value = await session.scalar(
            text("SELECT confirmed_block FROM indexer_state WHERE network = :n"), {"n": self.network.name}
        )
        return int(value) if value is not None else -1

    async def _balance(self, token: str | None, address: str) -> int:
        if token is None:
            return int(await self.w3.eth.get_balance(to_checksum_address(address)))
        data = _ERC20_BALANCE_OF + bytes.fromhex(address[2:].lower().rjust(64, "0"))
        raw = await self.w3.eth.call({"to": checksum(token), "data": "0x" + data.hex()})  # type: ignore[typeddict-item]
        return int.from_bytes(bytes(raw), "big") if raw else 0

    async def _receipt(self, tx_hash: str) -> Any:
        from web3.exceptions import TransactionNotFound

        try:
            return await self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    async def _known(self, tx_hash: str) -> bool:
        from web3.exceptions import TransactionNotFound

        try:
            await self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True

    async def _wait_for_receipt(self, tx_hash: str) -> bool:
        deadline = asyncio.get_running_loop().time() + self.receipt_wait
        while asyncio.get_running_loop().time() < deadline:
            if await self._receipt(tx_hash) is not None:
                return True
            await asyncio.sleep(0.2)
        return False


def _hex(value: Any) -> str:
    return value.to_0x_hex() if hasattr(value, "to_0x_hex") else str(value)


def _outcomes(logs: Sequence[Any], factory: str) -> tuple[set[str], set[str]]:
    """Deposit addresses (lower-case) the factory's logs of one receipt report swept and skipped."""
    swept: set[str] = set()
    skipped: set[str] = set()
    for lg in logs:
        if str(lg["address"]).lower() != factory.lower() or len(lg["topics"]) < 3:
            continue
        topic0 = _hex(lg["topics"][0]).lower()
        address = "0x" + _hex(lg["topics"][2])[-40:].lower()
        if topic0 == SWEPT_TOPIC:
            swept.add(address)
        elif topic0 == SKIPPED_TOPIC:
            skipped.add(address)
    return swept, skipped


class _Recorder:
    """The `before_send` hook of one planned sweep: records each signed version before its broadcast."""

    def __init__(self, sweeper: Sweeper, batch: Sequence[Candidate]) -> None:
        self.sweeper = sweeper
        self.batch = batch
        self.tx_hash: str | None = None

    async def __call__(self, version: SignedVersion) -> None:
        self.tx_hash = await self.sweeper.record_version(self.batch, self.tx_hash, version)
