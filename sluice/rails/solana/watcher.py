"""Finding payments: by one intent's reference (Solana Pay's `findReference`), or for thousands of
open intents at once by following the recipients' accounts and matching references locally.

Cost. Following one reference costs one `getSignaturesForAddress` per intent per poll: 10,000 open
intents would mean 10,000 calls a poll. The watcher instead follows the accounts every payment must
touch — the merchant's wallet (SOL) or associated token account (SPL) — with one
`getSignaturesForAddress(until=<last seen>)` per account per poll, and one `getTransaction` per new
transaction; each transaction's account keys are intersected with the open references in memory.
A poll therefore costs (distinct recipient accounts) + (new transactions), whatever the number of
open intents. The cursors (`cursors`) are what an indexer checkpoints, in the same database
transaction as the entries, to resume without loss after a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import structlog

from sluice.rails.solana.observe import (
    ObservedTransaction,
    PaymentVerdict,
    Validation,
    overrule,
    validate_transfer,
)
from sluice.rails.solana.payment import SolanaPayment
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.transaction import receiving_account

log = structlog.get_logger(__name__)
PAGE = 1000


@dataclass(frozen=True)
class Observation:
    """One transaction judged for one intent it references, at a commitment."""

    payment: SolanaPayment
    tx: ObservedTransaction
    validation: Validation
    commitment: str


#: The account the watcher follows for `payment` (see `transaction.receiving_account`).
watched_account = receiving_account


async def find_reference(
    rpc: SolanaRpc, payment: SolanaPayment, *, commitment: str = "confirmed", operator: str | None = None
) -> list[Observation]:
    """Every successful transaction carrying `payment`'s reference, oldest first (one intent's check)."""
    infos = await rpc.signatures_for_address(str(payment.reference_key), commitment=commitment)
    out = []
    for info in reversed(infos):
        if info.get("err") is not None:
            continue
        result = await rpc.transaction(info["signature"], commitment=commitment)
        if result is None:
            continue
        tx = ObservedTransaction.parse(result)
        if not tx.failed:
            validation = validate_transfer(payment, tx, operator=operator)
            out.append(Observation(payment, tx, validation, commitment))
    return out


class ReferenceWatcher:
    """Open intents by reference, and a cursor per followed account."""

    def __init__(
        self, rpc: SolanaRpc, *, commitment: str = "confirmed", operator: str | None = None, page: int = PAGE
    ) -> None:
        self.rpc = rpc
        self.page = page
        self.commitment = commitment
        self.operator = operator
        self.open: dict[str, SolanaPayment] = {}
        #: followed account → newest signature seen (persist these to resume).
        self.cursors: dict[str, str | None] = {}
        #: reference → base units credited so far (seed it from the stored entries).
        self.credited: dict[str, int] = {}

    def watch(
        self, payments: Iterable[SolanaPayment], *, credited: Mapping[bytes, int] | None = None
    ) -> None:
        """Follow `payments` (keep paid ones watched for a while: a repeat is then recorded);
        `credited` is what stored entries already credited, by reference."""
        for payment in payments:
            key = str(payment.reference_key)
            self.open[key] = payment
            self.cursors.setdefault(watched_account(payment), None)
            if credited and payment.reference in credited:
                self.credited[key] = credited[payment.reference]

    def unwatch(self, payment: SolanaPayment) -> None:
        self.open.pop(str(payment.reference_key), None)

    async def _new_signatures(self, account: str) -> list[tuple[str, bool]]:
        """(signature, failed) on `account` since its cursor, oldest first (paging through long gaps)."""
        until, before = self.cursors.get(account), None
        newest: list[dict[str, object]] = []
        while True:
            page = await self.rpc.signatures_for_address(
                account, commitment=self.commitment, limit=self.page, before=before, until=until
            )
            newest += page
            if len(page) < self.page or until is None:
                break
            before = str(page[-1]["signature"])
        return [(str(i["signature"]), i.get("err") is not None) for i in reversed(newest)]

    async def poll(self, max_transactions: int | None = None) -> list[Observation]:
        """Observations of every new transaction that references an open intent.

        A cursor moves only past transactions that were read: one the node lists but cannot return
        yet stops its account's cursor there (read again next poll), and an error restores every
        cursor and propagates, so the caller never stores a cursor beyond what it received.
        Reading a transaction twice is harmless: entries are keyed by signature.
        `max_transactions` bounds the transactions read in one poll (a backfill then commits in
        steps); the cursors stop at the last one read.
        """
        before = dict(self.cursors)
        seen: set[str] = set()
        out: list[Observation] = []
        try:
            for account in list(self.cursors):
                if max_transactions is not None and len(seen) >= max_transactions:
                    break
                for signature, failed in await self._new_signatures(account):
                    if max_transactions is not None and len(seen) >= max_transactions:
                        break
                    if not failed and signature not in seen:
                        result = await self.rpc.transaction(signature, commitment=self.commitment)
                        if result is None:
                            log.info("solana.transaction_not_yet_readable", signature=signature)
                            break
                        seen.add(signature)
                        out += self.match(ObservedTransaction.parse(result))
                    self.cursors[account] = signature
        except BaseException:
            self.cursors = before
            raise
        return out

    def match(self, tx: ObservedTransaction) -> list[Observation]:
        """The observations of `tx` for the open intents whose reference it carries."""
        if tx.failed:
            return []
        hits = [self.open[k] for k in tx.account_keys if k in self.open]
        observations = []
        for payment in hits:
            key = str(payment.reference_key)
            validation = validate_transfer(payment, tx, operator=self.operator)
            if len(hits) > 1:
                validation = overrule(validation, PaymentVerdict.ambiguous_reference)
            elif self.credited.get(key, 0) >= payment.amount:
                validation = overrule(validation, PaymentVerdict.reference_reused)
            self.credited[key] = self.credited.get(key, 0) + validation.credited
            observations.append(Observation(payment, tx, validation, self.commitment))
            log.info(
                "solana.payment_observed",
                intent=payment.intent_id,
                signature=tx.signature,
                verdict=validation.verdict,
                credited=validation.credited,
                slot=tx.slot,
            )
        return observations


@dataclass(frozen=True)
class Settlement:
    """Where observed transactions stand: final (count them), pending (still only confirmed), or
    dropped (the node no longer knows them: a confirmed block the cluster abandoned — roll back)."""

    final: tuple[str, ...]
    pending: tuple[str, ...]
    dropped: tuple[str, ...]


async def settle(
    rpc: SolanaRpc, signatures: Iterable[str], *, final_commitment: str = "finalized"
) -> Settlement:
    """One getSignatureStatuses call per 256 signatures: which observed payments are final."""
    signatures = list(signatures)
    final, pending, dropped = [], [], []
    for start in range(0, len(signatures), 256):
        chunk = signatures[start : start + 256]
        for signature, status in zip(chunk, await rpc.signature_statuses(chunk), strict=True):
            if status is None or status.get("err") is not None:
                dropped.append(signature)
            elif _reached(status.get("confirmationStatus"), final_commitment):
                final.append(signature)
            else:
                pending.append(signature)
    return Settlement(tuple(final), tuple(pending), tuple(dropped))


def _reached(status: str | None, commitment: str) -> bool:
    order = ("processed", "confirmed", "finalized")
    return status in order and order.index(status) >= order.index(commitment)
