"""What the contracts will refuse, checked when an intent is created, so that a created intent can
always be paid (rather than failing on chain with `ZeroAddress()`, `TooManySplits`, `FeeTooHigh`,
`AmountTooLarge` or an arithmetic panic).

Addresses (never zero) are checked by `sluice.merchants.payout.check_address`; the number of splits
and their total against the contract's bound in `PaymentIntentService._splits`; the rest here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sluice.chain.intents import ContractKind
from sluice.errors import InvalidRequestError
from sluice.intents.schemas import MAX_UINT256

#: SluiceEscrow keeps deposited, captured, refunded and released amounts as uint128.
MAX_ESCROW_AMOUNT = 2**128 - 1


def check_payable_amount(amount: int, kind: ContractKind, splits: Sequence[Mapping[str, Any]]) -> None:
    """Refuses an amount the contract cannot take: above uint128 in escrow, or so large that a split's
    share, `amount * bps / 10000`, overflows uint256 (the contract computes it in that order)."""
    if kind == "escrow" and amount > MAX_ESCROW_AMOUNT:
        raise InvalidRequestError(
            f"escrow intents (capture_method=manual) hold at most {MAX_ESCROW_AMOUNT} base units (uint128)",
            param="amount",
            code="amount_too_large",
        )
    largest_bps = max((int(s["bps"]) for s in splits), default=0)
    if amount * largest_bps > MAX_UINT256:
        raise InvalidRequestError(
            "amount is too large for the contract to compute its splits (amount x bps overflows uint256)",
            param="amount",
            code="amount_too_large",
        )
