"""The relayer key's transactions: nonces for several in flight at once, and replacement of stuck ones.

One `RelayerNonceManager` per (network, relayer key) per process. Sending takes a nonce from a local
counter (read once from the node's pending count, read again when the node says it is off), signs and
broadcasts under a lock, so concurrent relays get consecutive nonces and a failed broadcast leaves no
gap; waiting for the receipt happens outside the lock, so relays do not queue behind each other's
blocks. A watcher polls the receipts of every transaction in flight; one not mined within
`stuck_after` seconds is sent again with the same nonce and fees raised by `bump_percent` (nodes
require ≥ 10% on both EIP-1559 fields to replace), until one of its versions is mined. The outcome
carries the gas the relayer paid (gasUsed × effectiveGasPrice), which the caller records per intent.

A caller that must survive a crash between signing and broadcasting (the deposit sweeper) passes
`before_send`: it is awaited with every signed version (the first and each replacement) before that
version is broadcast, so the caller can record it durably; after a restart the caller hands the
versions it recorded back with `adopt`, which sends the last one again if the node lost it and keeps
watching (and replacing) it like any relay in flight.

Several API processes must not share one relayer key: each keeps its own counter (a collision is
detected — the node answers "nonce too low" — and the counter re-read, but the relay that lost fails).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import AsyncWeb3
from web3.exceptions import TransactionNotFound

from sluice.chain._utils import unsigned_transaction
from sluice.chain.fees import suggest_fees
from sluice.chain.network_config import NetworkConfig
from sluice.errors import SluiceError

log = structlog.get_logger(__name__)


class RelaySendError(SluiceError, RuntimeError):
    """Raised when the node refused the relayer's transaction (nothing was sent)."""

    code = "relay_failed"
    error_type = "api_error"
    http_status = 502


@dataclass(frozen=True)
class RelayOutcome:
    """A mined relay: the version that was mined, and what the relayer paid for it (wei)."""

    tx_hash: str
    nonce: int
    succeeded: bool
    gas_used: int
    effective_gas_price: int
    block_number: int
    #: every version sent, the mined one included (more than one when the first got stuck)
    hashes: tuple[str, ...]

    @property
    def fee_paid(self) -> int:
        return self.gas_used * self.effective_gas_price

    @property
    def replacements(self) -> int:
        return len(self.hashes) - 1


@dataclass(frozen=True)
class SignedVersion:
    """One signed version of a relayer transaction, handed to `before_send` before it is broadcast."""

    nonce: int
    tx_hash: str
    raw: bytes
    #: The unsigned fields (what `adopt` needs to replace it later).
    tx: dict[str, Any]


BeforeSend = Callable[[SignedVersion], Awaitable[None]]


@dataclass(eq=False)
class PendingRelay:
    """A relay in flight: its nonce, the versions sent, and the outcome once mined."""

    nonce: int
    tx: dict[str, Any]
    label: str
    hashes: list[str]
    sent_at: float
    outcome: asyncio.Future[RelayOutcome]
    callbacks: list[Callable[[RelayOutcome], Any]] = field(default_factory=list)
    #: Awaited with each replacement before it is broadcast (the caller records it durably).
    before_send: BeforeSend | None = None

    @property
    def tx_hash(self) -> str:
        return self.hashes[-1]


def _bumped(value: str | int, percent: int) -> int:
    old = int(value, 16) if isinstance(value, str) else int(value)
    return old * (100 + percent) // 100 + 1


def _nonce_trouble(exc: Exception) -> bool:
    text = str(exc).lower()
    return "nonce too low" in text or "nonce too high" in text or "already known" in text


class RelayerNonceManager:
    """Sends the relayer's transactions with locally allocated nonces and keeps them moving."""

    def __init__(
        self,
        w3: AsyncWeb3,
        network: NetworkConfig,
        account: LocalAccount,
        *,
        stuck_after: float = 30.0,
        bump_percent: int = 20,
        poll_interval: float = 0.25,
    ) -> None:
        self.w3 = w3
        self.network = network
        self.account = account
        self.stuck_after = stuck_after
        self.bump_percent = bump_percent
        self.poll_interval = poll_interval
        self._lock = asyncio.Lock()
        self._next: int | None = None
        self._pending: dict[int, PendingRelay] = {}
        self._watcher: asyncio.Task[None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def send(
        self,
        call: dict[str, Any],
        gas: int,
        *,
        label: str = "relay",
        before_send: BeforeSend | None = None,
    ) -> PendingRelay:
        """Signs `call` (from the relayer) with the next nonce and current fees and broadcasts it;
        `before_send` (if given) is awaited with the signed version first, and an exception it raises
        stops the send (nothing broadcast, the nonce not used)."""
        call = {**call, "from": self.account.address}
        fees = await suggest_fees(self.w3, self.network)
        async with self._lock:
            for attempt in (1, 2):
                if self._next is None:
                    self._next = int(await self.w3.eth.get_transaction_count(self.account.address, "pending"))
                nonce = self._next
                tx = dict(unsigned_transaction(call, nonce, gas, self.network.chain_id, fees))  # type: ignore[arg-type]
                signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
                if before_send is not None:
                    await before_send(_version(nonce, tx, signed))
                try:
                    await self.w3.eth.send_raw_transaction(signed.raw_transaction)
                except Exception as exc:
                    if attempt == 1 and _nonce_trouble(exc):
                        log.warning(
                            "relayer_nonce_resync", network=self.network.name, nonce=nonce, error=str(exc)
                        )
                        self._next = None  # another sender used the key: read the count again
                        continue
                    raise RelaySendError(f"the node refused the {label} transaction: {exc}") from exc
                self._next = nonce + 1
                break
            pending = PendingRelay(
                nonce=nonce,
                tx=tx,
                label=label,
                hashes=[signed.hash.to_0x_hex()],
                sent_at=time.monotonic(),
                outcome=asyncio.get_running_loop().create_future(),
                before_send=before_send,
            )
            self._pending[nonce] = pending
        log.info("relay_sent", network=self.network.name, label=label, nonce=nonce, tx=pending.tx_hash)
        self._ensure_watcher()
        return pending

    def pending(self, nonce: int) -> PendingRelay | None:
        """The relay in flight with `nonce` in this process, if any."""
        return self._pending.get(nonce)

    async def adopt(
        self,
        nonce: int,
        tx: dict[str, Any],
        hashes: list[str],
        raw: bytes,
        *,
        label: str = "relay",
        before_send: BeforeSend | None = None,
        rebroadcast: bool = False,
    ) -> PendingRelay:
        """Watches a transaction signed before (by this or an earlier process, recorded by the caller)
        as a relay in flight: `raw` (its last version) is broadcast again when `rebroadcast`, and a
        version not mined within `stuck_after` is replaced like any other."""
        async with self._lock:
            found = self._pending.get(nonce)
            if found is not None:
                return found
            if rebroadcast:
                try:
                    await self.w3.eth.send_raw_transaction(raw)
                except Exception as exc:  # "already known", "nonce too low": the caller reconciles
                    log.warning("relay_rebroadcast_refused", nonce=nonce, error=str(exc))
            if self._next is not None and self._next <= nonce:
                self._next = nonce + 1
            pending = PendingRelay(
                nonce=nonce,
                tx=dict(tx),
                label=label,
                hashes=list(hashes),
                sent_at=time.monotonic(),
                outcome=asyncio.get_running_loop().create_future(),
                before_send=before_send,
            )
            self._pending[nonce] = pending
        self._ensure_watcher()
        return pending

    def forget(self, nonce: int) -> None:
        """Stops watching a relay that can never be mined (its nonce went to another transaction)."""
        pending = self._pending.pop(nonce, None)
        if pending is not None and not pending.outcome.done():
            pending.outcome.cancel()

    async def wait(self, pending: PendingRelay, timeout: float) -> RelayOutcome:
        """The outcome once one version is mined; TimeoutError after `timeout` (it stays watched)."""
        return await asyncio.wait_for(asyncio.shield(pending.outcome), timeout)

    def _ensure_watcher(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while self._pending:
            for pending in list(self._pending.values()):
                try:
                    await self._check(pending)
                except Exception as exc:  # an RPC hiccup: try again on the next round
                    log.warning("relay_watch_error", nonce=pending.nonce, error=str(exc))
            await asyncio.sleep(self.poll_interval)

    async def _check(self, pending: PendingRelay) -> None:
        for tx_hash in reversed(pending.hashes):
            try:
                receipt = await self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                continue
            if receipt is None:
                continue
            outcome = RelayOutcome(
                tx_hash=tx_hash,
                nonce=pending.nonce,
                succeeded=receipt["status"] == 1,
                gas_used=int(receipt["gasUsed"]),
                effective_gas_price=int(receipt["effectiveGasPrice"]),
                block_number=int(receipt["blockNumber"]),
                hashes=tuple(pending.hashes),
            )
            self._pending.pop(pending.nonce, None)
            if not pending.outcome.done():
                pending.outcome.set_result(outcome)
            for callback in pending.callbacks:
                with contextlib.suppress(Exception):
                    result = callback(outcome)
                    if asyncio.iscoroutine(result):
                        await result
            log.info(
                "relay_mined",
                label=pending.label,
                nonce=pending.nonce,
                tx=tx_hash,
                gas_used=outcome.gas_used,
                replacements=outcome.replacements,
            )
            return
        if time.monotonic() - pending.sent_at >= self.stuck_after:
            await self._replace(pending)

    async def _replace(self, pending: PendingRelay) -> None:
        """Sends the same transaction (same nonce) again with fees raised by bump_percent, at least
        to what the network asks now."""
        tx = dict(pending.tx)
        fees = await suggest_fees(self.w3, self.network)
        if "gasPrice" in tx:
            tx["gasPrice"] = hex(max(_bumped(tx["gasPrice"], self.bump_percent), fees.gas_price or 0))
        else:
            tip = _bumped(tx["maxPriorityFeePerGas"], self.bump_percent)
            cap = max(_bumped(tx["maxFeePerGas"], self.bump_percent), (fees.max_fee_per_gas or 0), tip)
            tx["maxPriorityFeePerGas"], tx["maxFeePerGas"] = hex(tip), hex(cap)
        signed = self.account.sign_transaction(tx)
        pending.sent_at = time.monotonic()
        if pending.before_send is not None:
            await pending.before_send(_version(pending.nonce, tx, signed))
        try:
            await self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:  # mined meanwhile (nonce too low), or still underpriced: next round
            log.warning("relay_replace_refused", nonce=pending.nonce, error=str(exc))
            pending.tx = tx  # bump from here next time
            return
        pending.tx = tx
        pending.hashes.append(signed.hash.to_0x_hex())
        log.warning(
            "relay_replaced",
            label=pending.label,
            nonce=pending.nonce,
            tx=pending.tx_hash,
            versions=len(pending.hashes),
        )


def _version(nonce: int, tx: dict[str, Any], signed: Any) -> SignedVersion:
    return SignedVersion(nonce, signed.hash.to_0x_hex(), bytes(signed.raw_transaction), dict(tx))
