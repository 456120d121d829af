"""Judging an observed Solana transaction against the intent it references, as Solana Pay's
`validateTransfer` does, and turning it into a ledger entry.

A payment is judged by the balance changes the runtime recorded (`meta.preBalances`/`postBalances`
for SOL, `meta.preTokenBalances`/`postTokenBalances` of each recipient's associated token account
for SPL tokens), never by the instruction data: whatever the instructions say, only what reached
the merchant and the split recipients counts. A transaction is always recorded once it references
an intent; its verdict says what it is, and only the amount that honours the split is credited:

- `paid` / `overpaid`: every recipient got at least its share of the intent's amount;
- `underpaid`: less than the amount, but every recipient got its share of what was paid;
- `split_mismatch`: a split (or the merchant) got less than its share — credited 0;
- `wrong_asset`: the recipients were paid in another mint (or SOL instead of USDC…) — credited 0;
- `memo_mismatch`: the memo is not the intent's id — credited 0;
- `payer_mismatch`: the intent names its payer and another wallet paid — credited 0;
- `ambiguous_reference`: the transaction references several open intents, so one payment could
  be counted twice — credited 0 (decided by the watcher, which sees all references);
- `reference_reused`: the intent was already paid in full by earlier transactions with the same
  reference — credited 0 (decided by the watcher, which knows what was credited; a payment that
  completes a partial one is credited normally).
`late` marks a payment whose block time is past the intent's expiry, whatever its verdict.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from sluice.ledger.entries import ChainPosition, EntryKind, LedgerEntry
from sluice.rails.solana.payment import SolanaPayment, split_amounts
from sluice.rails.solana.transaction import associated_token_account, receiving_account

RAIL_NAME = "solana-pay"
MEMO_PROGRAMS = frozenset(
    {"MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"}
)


class PaymentVerdict(StrEnum):
    """What an observed transaction is, for the intent it references (see the module docstring)."""

    paid = "paid"
    overpaid = "overpaid"
    underpaid = "underpaid"
    split_mismatch = "split_mismatch"
    wrong_asset = "wrong_asset"
    memo_mismatch = "memo_mismatch"
    ambiguous_reference = "ambiguous_reference"
    payer_mismatch = "payer_mismatch"
    reference_reused = "reference_reused"

    @property
    def credits(self) -> bool:
        return self in (PaymentVerdict.paid, PaymentVerdict.overpaid, PaymentVerdict.underpaid)


@dataclass(frozen=True)
class ObservedTransaction:
    """The parts of a `getTransaction` answer the rail reads."""

    signature: str
    slot: int
    block_time: int | None
    failed: bool
    account_keys: tuple[str, ...]
    signers: tuple[str, ...]
    memos: tuple[str, ...]
    fee: int
    pre_balances: tuple[int, ...]
    post_balances: tuple[int, ...]
    #: account index → (mint, owner, pre amount, post amount)
    token_balances: Mapping[int, tuple[str, str | None, int, int]] = field(default_factory=dict)

    @classmethod
    def parse(cls, result: Mapping[str, Any]) -> ObservedTransaction:
        """Parse a `getTransaction` result fetched with `encoding: base64`."""
        raw = result["transaction"]
        data = raw[0] if isinstance(raw, list) else raw
        tx = VersionedTransaction.from_bytes(base64.b64decode(data))
        message = tx.message
        meta = result["meta"]
        loaded = meta.get("loadedAddresses") or {}
        keys = [str(k) for k in message.account_keys]
        keys += list(loaded.get("writable", ())) + list(loaded.get("readonly", ()))
        memos = []
        for ix in message.instructions:
            if keys[ix.program_id_index] in MEMO_PROGRAMS:
                memos.append(bytes(ix.data).decode("utf-8", errors="replace"))
        tokens: dict[int, tuple[str, str | None, int, int]] = {}
        sides = (("pre", meta.get("preTokenBalances")), ("post", meta.get("postTokenBalances")))
        for side, entries in sides:
            for b in entries or ():
                index = int(b["accountIndex"])
                mint, owner, pre, post = tokens.get(index, (b["mint"], b.get("owner"), 0, 0))
                amount = int(b["uiTokenAmount"]["amount"])
                tokens[index] = (mint, owner, amount, post) if side == "pre" else (mint, owner, pre, amount)
        return cls(
            signature=str(tx.signatures[0]),
            slot=int(result["slot"]),
            block_time=result.get("blockTime"),
            failed=meta.get("err") is not None,
            account_keys=tuple(keys),
            signers=tuple(keys[: message.header.num_required_signatures]),
            memos=tuple(memos),
            fee=int(meta.get("fee", 0)),
            pre_balances=tuple(int(x) for x in meta["preBalances"]),
            post_balances=tuple(int(x) for x in meta["postBalances"]),
            token_balances=tokens,
        )

    def lamport_delta(self, address: str) -> int:
        try:
            i = self.account_keys.index(address)
        except ValueError:
            return 0
        return self.post_balances[i] - self.pre_balances[i]

    def token_delta(self, account: str, mint: str) -> int:
        """The change of token account `account`, counted only if it holds `mint`."""
        try:
            i = self.account_keys.index(account)
        except ValueError:
            return 0
        balance = self.token_balances.get(i)
        if balance is None or balance[0] != mint:
            return 0
        return balance[3] - balance[2]

    def owner_received_other_mint(self, owners: set[str], mint: str | None) -> bool:
        """Whether any of `owners` gained a token other than `mint` (a payment in the wrong asset)."""
        balances = self.token_balances.values()
        return any(owner in owners and m != mint and post > pre for m, owner, pre, post in balances)


@dataclass(frozen=True)
class Validation:
    """The verdict on one transaction for one intent, and what reached each recipient."""

    verdict: PaymentVerdict
    received: Mapping[str, int]
    total: int
    credited: int
    late: bool
    payer: str | None
    #: Lamports the operator paid (fee and rent) when it sponsored the fee; None when the payer did.
    operator_cost: int | None = None


def _expected(payment: SolanaPayment, amount: int) -> dict[str, int]:
    merchant, fees = split_amounts(amount, (s.bps for s in payment.splits))
    expected = {payment.merchant: merchant}
    for split, fee in zip(payment.splits, fees, strict=True):
        expected[split.recipient] = expected.get(split.recipient, 0) + fee
    return expected


def _received(payment: SolanaPayment, tx: ObservedTransaction, recipients: set[str]) -> dict[str, int]:
    if payment.mint is None:
        return {r: tx.lamport_delta(r) for r in recipients}
    mint = Pubkey.from_string(payment.mint)
    return {
        r: tx.token_delta(str(associated_token_account(Pubkey.from_string(r), mint)), payment.mint)
        for r in recipients
    }


def _payer(payment: SolanaPayment, tx: ObservedTransaction) -> str | None:
    """The wallet the money left: the owner whose balance of the asset fell most (fee aside)."""
    if payment.mint is None:
        drops = {s: -tx.lamport_delta(s) for s in tx.signers}
        if len(tx.signers) > 1:
            drops.pop(tx.signers[0], None)
    else:
        drops = {
            owner: pre - post
            for m, owner, pre, post in tx.token_balances.values()
            if m == payment.mint and owner is not None
        }
    if not drops:
        return tx.signers[-1] if tx.signers else None
    return max(drops, key=lambda k: drops[k])


def _paid_in_other_asset(payment: SolanaPayment, tx: ObservedTransaction, recipients: set[str]) -> bool:
    """Whether the recipients got another mint, or SOL where a token was due."""
    if tx.owner_received_other_mint(recipients, payment.mint):
        return True
    return payment.mint is not None and any(tx.lamport_delta(r) > 0 for r in recipients)


def validate_transfer(
    payment: SolanaPayment, tx: ObservedTransaction, *, operator: str | None = None
) -> Validation:
    """The verdict on `tx` for `payment` (which it references); see the module docstring."""
    expected = _expected(payment, payment.amount)
    received = _received(payment, tx, set(expected))
    total = sum(max(0, v) for v in received.values())
    late = (
        payment.expires_at is not None
        and tx.block_time is not None
        and tx.block_time > int(payment.expires_at.timestamp())
    )

    def covers(amount: int) -> bool:
        return all(received[r] >= want for r, want in _expected(payment, amount).items())

    payer = _payer(payment, tx)
    if payment.memo not in tx.memos or len(tx.memos) != 1:
        verdict = PaymentVerdict.memo_mismatch
    elif payment.payer is not None and payer != payment.payer:
        verdict = PaymentVerdict.payer_mismatch
    elif covers(payment.amount):
        verdict = PaymentVerdict.paid if total == payment.amount else PaymentVerdict.overpaid
    elif 0 < total < payment.amount and covers(total):
        verdict = PaymentVerdict.underpaid
    elif total == 0 and _paid_in_other_asset(payment, tx, set(expected)):
        verdict = PaymentVerdict.wrong_asset
    else:
        verdict = PaymentVerdict.split_mismatch
    sponsored = operator is not None and tx.signers[:1] == (operator,)
    return Validation(
        verdict=verdict,
        received=received,
        total=total,
        credited=total if verdict.credits else 0,
        late=late,
        payer=payer,
        operator_cost=(tx.pre_balances[0] - tx.post_balances[0]) if sponsored else None,
    )


def overrule(validation: Validation, verdict: PaymentVerdict) -> Validation:
    """`validation` overruled by what only the watcher sees (several intents referenced, or an intent
    already paid in full): recorded with its balances, crediting nothing."""
    return Validation(
        verdict=verdict,
        received=validation.received,
        total=validation.total,
        credited=0,
        late=validation.late,
        payer=validation.payer,
        operator_cost=validation.operator_cost,
    )


def ledger_entry(payment: SolanaPayment, tx: ObservedTransaction, validation: Validation) -> LedgerEntry:
    """The `received` entry of a transaction: `amount` is what it credits (0 unless it honoured the
    split), `merchant_amount`/`fee_amounts` what actually reached each recipient."""
    return LedgerEntry(
        kind=EntryKind.received,
        network=payment.network,
        rail=RAIL_NAME,
        intent_ref=payment.reference,
        tx_id=tx.signature,
        position=ChainPosition(
            height=tx.slot, index=0, tx_index=0, block_id=str(tx.slot), time=int(tx.block_time or 0)
        ),
        amount=validation.credited,
        asset=payment.mint,
        payer=validation.payer,
        merchant=payment.merchant,
        merchant_amount=max(0, validation.received.get(payment.merchant, 0)),
        fee_amounts=tuple(max(0, validation.received.get(s.recipient, 0)) for s in payment.splits),
        source=receiving_account(payment),
        verdict=str(validation.verdict),
        late=validation.late,
    )
