"""Watching deposit addresses (the evm-deposit rail) inside the network follower's step.

The watched addresses live in memory (address → intent reference and asked-for token), refreshed
from `payment_intents` by creation time at each step, so no RPC call is ever made per address for
ERC-20 tokens:

- one `eth_getLogs` per step for the `Transfer` topic of the network's tokens (every transfer of
  those tokens, however busy; the `to` topic is looked up in the map, unrelated transfers dropped);
- one `eth_getLogs` per step for the deposit factory's `Swept` and `Refunded` (whoever sent them), the
  deposit address topic looked up in the same map: `swept` and `refunded` entries;
- for native-coin intents, `getEthBalance` of their addresses through Multicall3's `aggregate3`,
  `BALANCE_BATCH` addresses per `eth_call`, at the step's last block. What a balance holds above its
  baseline is a new receipt at that block (in a multi-block backfill range, the range's last block).
  The baseline is the native coin received since the address was last emptied: a native sweep or
  refund empties the address (the forwarder sends what is left to the merchant), so a `swept` or
  native `refunded` entry starts it again from zero, and a payment after the sweep is seen.

The calls join the follower's JSON-RPC batch, so the logs are checked against the same headers (a
reorg in between throws the step away) and the entries commit with the checkpoint. A rollback
deletes entries above the ancestor; `reload` then re-reads the native totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from sluice.chain.multicall import AGGREGATE3_SELECTOR, GET_ETH_BALANCE_SELECTOR
from sluice.clock import utcnow
from sluice.ledger.entries import LedgerEntry
from sluice.rails.evm_deposit import (
    DEPOSIT_RAIL,
    REFUNDED_TOPIC,
    SWEPT_TOPIC,
    TRANSFER_TOPIC,
    BalanceSeen,
    FactorySeen,
    TransferSeen,
    Watched,
    decode_observed,
)

#: Addresses per Multicall3 `eth_call` (~3,300 gas each: ~3.3 M gas a call, under every node's cap).
BALANCE_BATCH = 1000
#: New intents may commit a little after their `created_at`: each refresh looks back this far.
REFRESH_OVERLAP = timedelta(seconds=30)

_WATCH = (
    "SELECT onchain_id, deposit_address, token_address, created_at FROM payment_intents "
    "WHERE network = $1 AND deposit_address IS NOT NULL AND created_at > $2 ORDER BY created_at"
)
#: Per address, the native coin received since the last sweep or native refund emptied it.
_NATIVE_TOTALS = """
SELECT r.source, sum(r.amount)::text FROM ledger_entries r
WHERE r.network = $1 AND r.rail = $2 AND r.kind = 'received' AND r.asset IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM ledger_entries o
      WHERE o.network = r.network AND o.rail = r.rail AND o.source = r.source
        AND o.kind IN ('swept', 'refunded') AND o.asset IS NULL
        AND (o.height, o.block_index) > (r.height, r.block_index)
  )
GROUP BY r.source
"""
#: Native entries that empty a deposit address (a native sweep or refund sends all it holds onward).
_EMPTYING = frozenset({"swept", "refunded"})


@dataclass(frozen=True)
class DepositConfig:
    #: The network's ERC-20 tokens (EIP-55).
    tokens: tuple[str, ...]
    #: Multicall3's address on the network; None: native deposits are not watched.
    multicall: str | None
    #: The network's deposit factory (SluiceDeposits): its Swept and Refunded events; None: not followed.
    factory: str | None = None
    #: How long an intent's address is watched after its creation (late and repeated payments).
    watch_days: int = 30


@dataclass
class DepositWatch:
    network: str
    config: DepositConfig
    #: lower-case address → watched intent.
    by_address: dict[str, Watched] = field(default_factory=dict)
    #: Native-coin addresses, in a stable order (the balance calls).
    native: list[Watched] = field(default_factory=list)
    #: lower-case address → native base units recorded as entries since the address was last emptied.
    native_seen: dict[str, int] = field(default_factory=dict)
    _since: datetime | None = None

    @property
    def size(self) -> int:
        return len(self.by_address)

    async def refresh(self, conn: asyncpg.Connection) -> None:
        """Adds the deposit intents created since the last refresh."""
        first = self._since is None
        horizon = utcnow() - timedelta(days=self.config.watch_days)
        since = horizon if self._since is None else max(self._since - REFRESH_OVERLAP, horizon)
        rows = await conn.fetch(_WATCH, self.network, since)
        for ref, address, token, created in rows:
            key = address.lower()
            if key not in self.by_address:
                watched = Watched(bytes(ref), address, token.lower() if token else None)
                self.by_address[key] = watched
                if watched.token is None:
                    self.native.append(watched)
            if self._since is None or created > self._since:
                self._since = created
        if self._since is None:
            self._since = horizon
        if first:
            await self.reload(conn)

    async def reload(self, conn: asyncpg.Connection) -> None:
        """The native baselines recorded per address (at start and after a rollback)."""
        rows = await conn.fetch(_NATIVE_TOTALS, self.network, DEPOSIT_RAIL)
        self.native_seen = {r[0].lower(): int(r[1]) for r in rows}

    def calls(self, start: int, end: int) -> list[tuple[str, list[Any]]]:
        """The step's deposit calls for blocks start..end (logs first, then the balance reads)."""
        out: list[tuple[str, list[Any]]] = []
        if not self.by_address:
            return out
        if self.config.tokens:
            out.append(
                (
                    "eth_getLogs",
                    [
                        {
                            "fromBlock": hex(start),
                            "toBlock": hex(end),
                            "address": list(self.config.tokens),
                            "topics": [TRANSFER_TOPIC],
                        }
                    ],
                )
            )
        if self.config.factory:
            out.append(
                (
                    "eth_getLogs",
                    [
                        {
                            "fromBlock": hex(start),
                            "toBlock": hex(end),
                            "address": self.config.factory,
                            "topics": [[SWEPT_TOPIC, REFUNDED_TOPIC]],
                        }
                    ],
                )
            )
        if self.config.multicall and self.native:
            for i in range(0, len(self.native), BALANCE_BATCH):
                chunk = self.native[i : i + BALANCE_BATCH]
                out.append(
                    (
                        "eth_call",
                        [
                            {"to": self.config.multicall, "data": _aggregate3(chunk, self.config.multicall)},
                            hex(end),
                        ],
                    )
                )
        return out

    def logs_of(self, calls: Sequence[tuple[str, list[Any]]], results: Sequence[Any]) -> list[dict[str, Any]]:
        """The Transfer logs among a step's deposit results (for the follower's block-hash check)."""
        return [
            lg
            for (method, _), result in zip(calls, results, strict=True)
            if method == "eth_getLogs"
            for lg in result
        ]

    def entries(
        self,
        calls: Sequence[tuple[str, list[Any]]],
        results: Sequence[Any],
        end: int,
        end_hash: str,
        end_time: int,
    ) -> list[LedgerEntry]:
        """The ledger entries of a step's deposit results."""
        observed: list[TransferSeen | BalanceSeen | FactorySeen] = []
        balances: list[int] = []
        factory = (self.config.factory or "").lower()
        for (method, _), result in zip(calls, results, strict=True):
            if method == "eth_getLogs":
                by_address = self.by_address
                for lg in result:
                    topics = lg.get("topics")
                    if not topics or len(topics) != 3:
                        continue
                    watched = by_address.get("0x" + topics[2][-40:].lower())
                    if watched is None:
                        continue
                    if str(lg.get("address", "")).lower() == factory:
                        observed.append(FactorySeen(lg, watched))
                    else:
                        observed.append(TransferSeen(lg, watched))
            else:
                balances.extend(_balances(result))
        found = decode_observed(self.network, observed)
        # A native sweep or refund in this range emptied the address: what it holds now came after.
        emptied = {e.source.lower() for e in found if e.source is not None and _empties(e)}
        reads: list[TransferSeen | BalanceSeen | FactorySeen] = []
        for i, (watched, balance) in enumerate(zip(self.native, balances, strict=False)):
            key = watched.address.lower()
            seen = 0 if key in emptied else self.native_seen.get(key, 0)
            if balance > seen:
                reads.append(BalanceSeen(watched, balance - seen, end, end_hash, end_time, i))
        return found + decode_observed(self.network, reads)

    def committed(self, entries: Sequence[LedgerEntry]) -> None:
        """Moves the native baselines of deposit addresses by the committed entries, in chain order."""
        mine = [e for e in entries if e.rail == DEPOSIT_RAIL and e.asset is None and e.source is not None]
        for e in sorted(mine, key=lambda e: (e.position.height, e.position.index)):
            key = e.source.lower()  # type: ignore[union-attr]
            if _empties(e):
                self.native_seen[key] = 0
            elif e.kind == "received":
                self.native_seen[key] = self.native_seen.get(key, 0) + e.amount


def _empties(e: LedgerEntry) -> bool:
    """A native-coin entry that leaves its deposit address empty (a sweep or refund)."""
    return e.rail == DEPOSIT_RAIL and e.asset is None and e.source is not None and e.kind in _EMPTYING


def _aggregate3(chunk: Sequence[Watched], multicall: str) -> str:
    """aggregate3 calldata: getEthBalance(address) on Multicall3 itself for each address."""
    from eth_abi import encode

    calls = [
        (multicall, False, GET_ETH_BALANCE_SELECTOR + bytes.fromhex(w.address[2:].rjust(64, "0")))
        for w in chunk
    ]
    return "0x" + (AGGREGATE3_SELECTOR + encode(["(address,bool,bytes)[]"], [calls])).hex()


def _balances(result: str) -> list[int]:
    from eth_abi import decode

    (decoded,) = decode(["(bool,bytes)[]"], bytes.fromhex(result[2:]))
    return [int.from_bytes(data, "big") if ok else 0 for ok, data in decoded]
