"""Ledger entries: what any rail observed on its chain, in one chain-neutral shape.

Every rail (the EVM contract call, EVM deposit addresses, Solana, Stacks, …) turns what its chain
reports into these entries. The indexers store entries; the transitions (`sluice.intents.transitions`),
the reorg rollback, reconciliation and the reports read entries, never a chain's own event names.
Amounts are integers in the asset's base units.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EntryKind(StrEnum):
    """What happened to an intent's money."""

    #: Funds reached the merchant (and split recipients) directly: an automatic payment, or a plain
    #: transfer to a deposit address. Several entries add up (partial payments, over-payment).
    received = "received"
    #: Funds locked in escrow for the intent (manual capture); several deposits may add up.
    escrow_deposited = "escrow_deposited"
    #: Escrowed funds paid out to the merchant and split recipients.
    captured = "captured"
    #: Funds sent back to the payer by the merchant.
    refunded = "refunded"
    #: The rest of an escrow returned to the payer and the escrow closed (void, or reclaim by the payer).
    released = "released"
    #: An asset the intent did not ask for reached its deposit address (a wrong token). Counts toward
    #: none of the intent's amounts; kept so the merchant can rescue it, announced once.
    stray = "stray"
    #: A deposit address's funds moved on to the merchant and split recipients (the deposit factory's
    #: `Swept`, whoever sent the sweep). Counts toward none of the intent's amounts (the payment was
    #: counted when it arrived); the sweep job reads it (never sweep twice), and the native-coin
    #: watcher counts a later balance from zero.
    swept = "swept"


class ReleaseReason(StrEnum):
    void = "void"
    reclaimed = "reclaimed"


@dataclass(frozen=True, slots=True)
class ChainPosition:
    """Where an entry happened: height is the block number, slot or burn/stacks block height; index
    orders entries within it; `tx_index` is the entry's position among its own transaction's entries
    (stable when the transaction is re-included elsewhere: part of the natural key)."""

    height: int
    index: int
    tx_index: int
    block_id: str
    #: Unix seconds of the block; None when the chain's report lacks it (the observer fills it in).
    time: int | None = None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One observed movement of an intent's money on a chain."""

    kind: EntryKind
    network: str
    #: The rail that observed it (e.g. "evm-contract").
    rail: str
    #: The rail's key of the intent: the 32-byte on-chain id, a Solana Pay reference, …
    intent_ref: bytes
    #: The chain's transaction id as the chain writes it (0x-hex hash, base58 signature, …).
    tx_id: str
    position: ChainPosition
    amount: int
    #: Asset moved: token/mint/contract id; None for the chain's native coin.
    asset: str | None = None
    payer: str | None = None
    #: The merchant's part and the split recipients' parts where the chain reports them.
    merchant: str | None = None
    merchant_amount: int | None = None
    fee_amounts: tuple[int, ...] | None = None
    #: The chain's running total where it reports one (escrow totals).
    total: int | None = None
    #: For `released`: why the escrow closed.
    reason: ReleaseReason | None = None
    #: What was observed: the contract, program or deposit address (an intent is only linked to
    #: entries from the source it names, where it names one).
    source: str | None = None
    #: The rail's judgement where the rail judges payments itself (Solana: "paid", "split_mismatch",
    #: …; an entry whose verdict does not credit has amount 0); None where a contract enforces terms.
    verdict: str | None = None
    #: Paid after the intent's expiry (recorded all the same); None where the rail does not say.
    late: bool | None = None


#: Verdicts of entries that credit nothing: the payment was rejected (announced as
#: `payment_intent.payment_failed` with the verdict as the error's code; docs/webhooks.md).
REJECTING_VERDICTS = frozenset(
    {
        "split_mismatch",
        "wrong_asset",
        "memo_mismatch",
        "ambiguous_reference",
        "payer_mismatch",
        "reference_reused",
    }
)
