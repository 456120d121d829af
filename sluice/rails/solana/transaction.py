"""The payer's Solana transaction: one transaction that pays the merchant and every split, or no one.

Built with solders and the `solana` package's SPL helpers, as Solana Pay's `createTransfer` builds a
transfer: a memo with the intent id first, then for each recipient either a system transfer (SOL)
or an idempotent associated-token-account creation and a `transferChecked` to that account (SPL),
with the reference key appended read-only to the merchant's transfer so `getSignaturesForAddress`
on the reference finds the payment. The runtime executes a transaction atomically, so a split
that fails (a missing source balance, a closed account) fails the merchant's transfer too.

With a priority fee (`SLUICE_SOLANA_PRIORITY_FEE_MICROLAMPORTS`, 0 by default) the transaction starts
with the Compute Budget instructions: a compute-unit limit sized for its instructions (the priority fee
is paid per unit requested, so the limit is kept close to what it uses) and the price per unit.

The transaction is returned unsigned (the payer is the fee payer), or partially signed by the
operator when the operator sponsors fees (`fee_payer`): the operator's key then pays the network
fee and the rent of any associated token account the payment creates, and the payer signs second.
"""

from __future__ import annotations

import base64

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.memo.instructions import create_memo
from spl.memo.models import MemoParams
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
    transfer_checked,
)
from spl.token.models import TransferCheckedParams

from sluice.rails.solana.payment import SolanaPayment


def associated_token_account(owner: Pubkey, mint: Pubkey) -> Pubkey:
    """The owner's associated token account for `mint` (classic SPL Token program)."""
    return get_associated_token_address(owner, mint, TOKEN_PROGRAM_ID)


def receiving_account(payment: SolanaPayment) -> str:
    """The account every payment of `payment` credits: the merchant's wallet (SOL) or its associated
    token account (SPL). The watcher follows it, and it is the `source` of the intent's entries."""
    merchant = Pubkey.from_string(payment.merchant)
    if payment.mint is None:
        return str(merchant)
    return str(associated_token_account(merchant, Pubkey.from_string(payment.mint)))


def with_reference(instruction: Instruction, reference: Pubkey) -> Instruction:
    """`instruction` with `reference` appended as a read-only non-signer key (Solana Pay spec)."""
    accounts = [*instruction.accounts, AccountMeta(reference, is_signer=False, is_writable=False)]
    return Instruction(instruction.program_id, instruction.data, accounts)


def payment_instructions(payment: SolanaPayment, payer: Pubkey, funder: Pubkey) -> list[Instruction]:
    """The instructions that pay every leg of `payment` from `payer`; `funder` pays new accounts' rent."""
    instructions = [
        create_memo(MemoParams(program_id=MEMO_PROGRAM_ID, signer=payer, message=payment.memo.encode()))
    ]
    reference = payment.reference_key
    for position, leg in enumerate(payment.legs()):
        recipient = Pubkey.from_string(leg.recipient)
        if payment.mint is None:
            pay = transfer(TransferParams(from_pubkey=payer, to_pubkey=recipient, lamports=leg.amount))
        else:
            mint = Pubkey.from_string(payment.mint)
            instructions.append(create_idempotent_associated_token_account(funder, recipient, mint))
            pay = transfer_checked(
                TransferCheckedParams(
                    program_id=TOKEN_PROGRAM_ID,
                    source=associated_token_account(payer, mint),
                    mint=mint,
                    dest=associated_token_account(recipient, mint),
                    owner=payer,
                    amount=leg.amount,
                    decimals=payment.decimals,
                )
            )
        instructions.append(with_reference(pay, reference) if position == 0 else pay)
    return instructions


#: Compute units requested per instruction kind when a priority fee is set (measured use with headroom:
#: the memo ~17k, creating an associated token account ~25k, transferChecked ~6k, a system transfer 150).
MEMO_UNITS, ATA_UNITS, TOKEN_TRANSFER_UNITS, SOL_TRANSFER_UNITS, BUDGET_UNITS = (
    30_000,
    40_000,
    10_000,
    1_000,
    1_000,
)


def compute_unit_limit(payment: SolanaPayment) -> int:
    """The compute units to request for `payment`'s transaction."""
    per_leg = SOL_TRANSFER_UNITS if payment.mint is None else ATA_UNITS + TOKEN_TRANSFER_UNITS
    return BUDGET_UNITS + MEMO_UNITS + per_leg * len(payment.legs())


def priority_fee(payment: SolanaPayment, micro_lamports: int) -> int:
    """Lamports the priority fee adds: units requested × price, rounded up (as the runtime does)."""
    return -(-compute_unit_limit(payment) * micro_lamports // 1_000_000)


def build_transaction(
    payment: SolanaPayment,
    payer: Pubkey,
    blockhash: Hash,
    *,
    fee_payer: Keypair | None = None,
    priority_micro_lamports: int = 0,
) -> Transaction:
    """The payment transaction, unsigned by the payer; signed by `fee_payer` when the operator sponsors."""
    funder = fee_payer.pubkey() if fee_payer is not None else payer
    instructions = payment_instructions(payment, payer, funder)
    if priority_micro_lamports > 0:
        budget = [
            set_compute_unit_limit(compute_unit_limit(payment)),
            set_compute_unit_price(priority_micro_lamports),
        ]
        instructions = budget + instructions
    message = Message.new_with_blockhash(instructions, funder, blockhash)
    tx = Transaction.new_unsigned(message)
    if fee_payer is not None:
        tx.partial_sign([fee_payer], blockhash)
    return tx


def encode_transaction(tx: Transaction) -> str:
    """The wire form wallets take: base64 of the serialized transaction (empty signatures as zeros)."""
    return base64.b64encode(bytes(tx)).decode()


def decode_transaction(data: str) -> Transaction:
    """The transaction `encode_transaction` produced (or a wallet signed)."""
    return Transaction.from_bytes(base64.b64decode(data))
