"""Checks before the payer signs: can this payer pay, and can every recipient receive?

Each refusal here is a 400 the payer can act on, instead of a transaction the wallet signs and the
runtime then rejects as a whole (a failed simulation in the wallet, or a failed transaction whose
fee is lost). The node still has the last word; these checks only catch the common cases early.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

from sluice.errors import InsufficientBalanceError, InvalidRequestError
from sluice.rails.solana.payment import SolanaPayment
from sluice.rails.solana.rpc import SolanaRpc
from sluice.rails.solana.transaction import associated_token_account, priority_fee

SIGNATURE_FEE = 5_000
TOKEN_ACCOUNT_SIZE = 165


async def check_payment(
    rpc: SolanaRpc, payment: SolanaPayment, payer: str, *, sponsored: bool, priority_micro_lamports: int = 0
) -> None:
    """Raise InsufficientBalanceError / InvalidRequestError when the payment cannot succeed."""
    fee = SIGNATURE_FEE + priority_fee(payment, priority_micro_lamports)
    lamports = await rpc.balance(payer)
    if payment.mint is None:
        await _check_sol_recipients(rpc, payment)
        # The payer's account must stay rent-exempt after paying (or the runtime refuses).
        keep = int(await rpc.call("getMinimumBalanceForRentExemption", 0))
        need = payment.amount + (0 if sponsored else fee) + keep
        _require(payer, payment, "SOL", lamports, need)
        return
    mint = Pubkey.from_string(payment.mint)
    tokens = await rpc.token_account_balance(str(associated_token_account(Pubkey.from_string(payer), mint)))
    _require(payer, payment, payment.asset, tokens or 0, payment.amount)
    if sponsored:
        return
    missing = 0
    for leg in payment.legs():
        ata = associated_token_account(Pubkey.from_string(leg.recipient), mint)
        if await rpc.token_account_balance(str(ata)) is None:
            missing += 1
    rent = int(await rpc.call("getMinimumBalanceForRentExemption", TOKEN_ACCOUNT_SIZE)) if missing else 0
    _require(payer, payment, "SOL (network fee and new token accounts' rent)", lamports, fee + missing * rent)


def _require(payer: str, payment: SolanaPayment, what: str, have: int, need: int) -> None:
    if have < need:
        raise InsufficientBalanceError(
            f"{payer} holds {have} base units of {what} on {payment.network}; paying needs {need}",
            balance=have,
            required=need,
        )


async def _check_sol_recipients(rpc: SolanaRpc, payment: SolanaPayment) -> None:
    """A SOL leg to a wallet that does not exist yet must leave it rent-exempt, or the runtime
    rejects the whole payment (InsufficientFundsForRent)."""
    minimum: int | None = None
    for leg in payment.legs():
        if await rpc.balance(leg.recipient) > 0:
            continue
        if minimum is None:
            minimum = int(await rpc.call("getMinimumBalanceForRentExemption", 0))
        if leg.amount < minimum:
            raise InvalidRequestError(
                f"{leg.recipient} holds no SOL yet, and its part of this payment ({leg.amount} lamports) "
                f"is below the {minimum} lamports a new account needs; fund the wallet first",
                param="splits" if leg.recipient != payment.merchant else "payout_address",
                code="recipient_not_rent_exempt",
            )
