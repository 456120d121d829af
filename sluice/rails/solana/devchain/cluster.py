"""The local Solana cluster's state: LiteSVM (the real SVM, with SPL Token, Associated Token Account
and Memo programs) plus what a validator's RPC remembers and LiteSVM does not — slots, block times,
the status meta of each transaction (pre/post lamport and token balances), the signatures touching
each address, and the confirmed/finalized commitments.

A development tool, not a validator: one "block" per transaction, no forks (so `confirmed` is never
rolled back), no leader schedule, no fee markets; a transaction that fails is rejected at
`sendTransaction` as a preflight failure and leaves no trace (a real cluster would record it, with
its fee, as failed). The slot advances with every transaction and every tick; a slot counts as
finalized `finality_depth` slots later.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from solders.account import Account
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.token.state import TokenAccount
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    mint_to_checked,
)
from spl.token.models import InitializeMint2Params, MintToCheckedParams

from sluice.rails.solana.networks import (
    DEV_USDC_MINT_AUTHORITY,
    DEV_USDC_MINT_KEYPAIR,
    USDC_DECIMALS,
    dev_keypair,
)

MINT_SIZE = 82
LAMPORTS_PER_SOL = 10**9
#: Dev keypairs the cluster funds at start: name → (SOL, USDC) in whole units.
DEV_ACCOUNTS: dict[str, tuple[int, int]] = {
    "payer": (1_000, 1_000_000),
    "payer2": (1_000, 1_000_000),
    "merchant": (10, 0),
    "platform": (10, 0),
    "operator": (1_000, 0),
}


class ClusterError(Exception):
    """A JSON-RPC error to answer with (`code`, `message`, optional `data`)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


@dataclass
class _Record:
    signature: str
    slot: int
    block_time: int
    wire: bytes
    meta: dict[str, Any]
    memo: str | None


@dataclass
class LocalCluster:
    """LiteSVM behind the bookkeeping a node's RPC needs; every method is thread-safe."""

    finality_depth: int = 2
    svm: LiteSVM = field(default_factory=LiteSVM)
    slot: int = 1
    _records: dict[str, _Record] = field(default_factory=dict)
    _by_address: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.svm.warp_to_slot(self.slot)

    # ------------------------------------------------------------------ set-up
    def bootstrap(self) -> dict[str, Keypair]:
        """Create the dev USDC mint and fund the dev keypairs; returns them by name."""
        keys = {name: dev_keypair(name) for name in DEV_ACCOUNTS}
        if self.svm.get_account(DEV_USDC_MINT_KEYPAIR.pubkey()) is None:
            self.create_mint(DEV_USDC_MINT_KEYPAIR, DEV_USDC_MINT_AUTHORITY, USDC_DECIMALS)
        for name, (sol, usdc) in DEV_ACCOUNTS.items():
            self.svm.airdrop(keys[name].pubkey(), sol * LAMPORTS_PER_SOL)
            if usdc:
                self.mint_usdc(keys[name].pubkey(), usdc * 10**USDC_DECIMALS)
        return keys

    def create_mint(self, mint: Keypair, authority: Keypair, decimals: int) -> str:
        """Create an SPL Token mint at `mint`'s address, minted by `authority` (funded here)."""
        self.svm.airdrop(authority.pubkey(), 10 * LAMPORTS_PER_SOL)
        rent = self.svm.minimum_balance_for_rent_exemption(MINT_SIZE)
        instructions = [
            create_account(
                CreateAccountParams(
                    from_pubkey=authority.pubkey(),
                    to_pubkey=mint.pubkey(),
                    lamports=rent,
                    space=MINT_SIZE,
                    owner=TOKEN_PROGRAM_ID,
                )
            ),
            initialize_mint2(
                InitializeMint2Params(
                    decimals=decimals,
                    program_id=TOKEN_PROGRAM_ID,
                    mint=mint.pubkey(),
                    mint_authority=authority.pubkey(),
                    freeze_authority=None,
                )
            ),
        ]
        return self.send(self._signed([authority, mint], instructions))

    def mint_usdc(self, owner: Pubkey, amount: int) -> str:
        """Mint dev USDC into `owner`'s associated token account (created if missing)."""
        return self.mint_to(DEV_USDC_MINT_KEYPAIR.pubkey(), DEV_USDC_MINT_AUTHORITY, owner, amount)

    def mint_to(self, mint: Pubkey, authority: Keypair, owner: Pubkey, amount: int) -> str:
        """Mint `amount` base units of `mint` into `owner`'s associated token account."""
        ata = get_associated_token_address(owner, mint, TOKEN_PROGRAM_ID)
        instructions = [
            create_idempotent_associated_token_account(authority.pubkey(), owner, mint),
            mint_to_checked(
                MintToCheckedParams(
                    program_id=TOKEN_PROGRAM_ID,
                    mint=mint,
                    dest=ata,
                    mint_authority=authority.pubkey(),
                    amount=amount,
                    decimals=self.mint_decimals(mint),
                )
            ),
        ]
        return self.send(self._signed([authority], instructions))

    def _signed(self, signers: list[Keypair], instructions: list[Any]) -> bytes:
        message = Message.new_with_blockhash(instructions, signers[0].pubkey(), self.svm.latest_blockhash())
        return bytes(Transaction(signers, message, self.svm.latest_blockhash()))

    # ------------------------------------------------------------------ slots
    def tick(self) -> None:
        """One more (empty) slot: what lets a quiet cluster's transactions become finalized."""
        with self._lock:
            self._advance()

    def _advance(self) -> None:
        self.slot += 1
        self.svm.warp_to_slot(self.slot)

    def commitment_slot(self, commitment: str | None) -> int:
        """The newest slot at `commitment` (processed and confirmed are the tip here)."""
        if commitment == "finalized":
            return max(0, self.slot - self.finality_depth)
        return self.slot

    # ------------------------------------------------------------------ transactions
    def simulate(self, wire: bytes) -> dict[str, Any]:
        with self._lock:
            tx = VersionedTransaction.from_bytes(wire)
            result = self.svm.simulate_transaction(tx)
            if isinstance(result, FailedTransactionMetadata):
                meta = result.meta()
                err = _error_json(result.err())
            else:
                meta, err = result.meta(), None
            return {"err": err, "logs": list(meta.logs()), "unitsConsumed": meta.compute_units_consumed()}

    def send(self, wire: bytes) -> str:
        """Execute a signed transaction; its signature, or ClusterError -32002 as a failed preflight."""
        with self._lock:
            tx = VersionedTransaction.from_bytes(wire)
            keys = [str(k) for k in tx.message.account_keys]
            pre = [self._lamports(k) for k in keys]
            pre_tokens = self._token_balances(keys)
            result = self.svm.send_transaction(tx)
            if isinstance(result, FailedTransactionMetadata):
                meta_failed = result.meta()
                raise ClusterError(
                    -32002,
                    f"Transaction simulation failed: {result.err()}",
                    {
                        "err": _error_json(result.err()),
                        "logs": list(meta_failed.logs()),
                        "accounts": None,
                        "unitsConsumed": meta_failed.compute_units_consumed(),
                    },
                )
            signature = str(tx.signatures[0])
            meta: dict[str, Any] = {
                "err": None,
                "status": {"Ok": None},
                "fee": result.fee(),
                "preBalances": pre,
                "postBalances": [self._lamports(k) for k in keys],
                "innerInstructions": [],
                "logMessages": list(result.logs()),
                "preTokenBalances": pre_tokens,
                "postTokenBalances": self._token_balances(keys),
                "rewards": [],
                "loadedAddresses": {"writable": [], "readonly": []},
                "computeUnitsConsumed": result.compute_units_consumed(),
            }
            record = _Record(signature, self.slot, int(time.time()), wire, meta, _memo_field(tx))
            self._records[signature] = record
            for key in keys:
                self._by_address.setdefault(key, []).append(signature)
            self._advance()
            return signature

    def _lamports(self, key: str) -> int:
        return self.svm.get_balance(Pubkey.from_string(key)) or 0

    def _token_balances(self, keys: list[str]) -> list[dict[str, Any]]:
        balances = []
        for index, key in enumerate(keys):
            account = self.svm.get_account(Pubkey.from_string(key))
            if account is None or account.owner != TOKEN_PROGRAM_ID or len(account.data) != 165:
                continue
            state = TokenAccount.from_bytes(bytes(account.data))
            decimals = self.mint_decimals(state.mint)
            balances.append(
                {
                    "accountIndex": index,
                    "mint": str(state.mint),
                    "owner": str(state.owner),
                    "programId": str(TOKEN_PROGRAM_ID),
                    "uiTokenAmount": ui_token_amount(state.amount, decimals),
                }
            )
        return balances

    def mint_decimals(self, mint: Pubkey) -> int:
        account = self.svm.get_account(mint)
        return bytes(account.data)[44] if account is not None and len(account.data) >= 45 else 0

    # ------------------------------------------------------------------ queries
    def record(self, signature: str, commitment: str | None) -> _Record | None:
        with self._lock:
            record = self._records.get(signature)
            if record is None or record.slot > self.commitment_slot(commitment):
                return None
            return record

    def signatures_for(
        self, address: str, commitment: str | None, limit: int, before: str | None, until: str | None
    ) -> list[_Record]:
        """Newest first, from just before `before` down to just after `until` (as a node answers)."""
        with self._lock:
            top = self.commitment_slot(commitment)
            out: list[_Record] = []
            started = before is None
            for signature in reversed(self._by_address.get(address, [])):
                if not started:
                    started = signature == before
                    continue
                if signature == until:
                    break
                record = self._records[signature]
                if record.slot <= top:
                    out.append(record)
                if len(out) >= limit:
                    break
            return out

    def status(self, signature: str) -> dict[str, Any] | None:
        with self._lock:
            record = self._records.get(signature)
            if record is None:
                return None
            final = record.slot <= self.commitment_slot("finalized")
            return {
                "slot": record.slot,
                "confirmations": None if final else self.slot - record.slot,
                "err": None,
                "status": {"Ok": None},
                "confirmationStatus": "finalized" if final else "confirmed",
            }

    def account(self, key: str) -> Account | None:
        with self._lock:
            return self.svm.get_account(Pubkey.from_string(key))


def ui_token_amount(amount: int, decimals: int) -> dict[str, Any]:
    """The RPC's `uiTokenAmount` object (its `uiAmount` float is the RPC's, never read by Sluice)."""
    text = str(amount).rjust(decimals + 1, "0")
    whole, frac = text[: len(text) - decimals], text[len(text) - decimals :].rstrip("0")
    ui = f"{whole}.{frac}" if frac else whole
    return {"amount": str(amount), "decimals": decimals, "uiAmount": float(ui), "uiAmountString": ui}


def _memo_field(tx: VersionedTransaction) -> str | None:
    """`getSignaturesForAddress`'s `memo`: each memo as `[len] text`, joined by `; `."""
    keys = tx.message.account_keys
    memos = [
        bytes(ix.data).decode("utf-8", errors="replace")
        for ix in tx.message.instructions
        if keys[ix.program_id_index] == MEMO_PROGRAM_ID
    ]
    return "; ".join(f"[{len(m)}] {m}" for m in memos) or None


def _error_json(err: Any) -> Any:
    """A TransactionError as the RPC writes it (solders' JSON of the error)."""
    try:
        return json.loads(err.to_json())
    except (AttributeError, ValueError):
        return str(err)
