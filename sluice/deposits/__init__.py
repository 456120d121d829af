"""Keyless deposit addresses (the `evm-deposit` rail's chain side): CREATE2 addresses of
SluiceDeposits whose salt commits to an intent's terms, the calldata that sweeps, refunds and rescues
them, the sweep job (sluice.deposits.sweeper) and the merchant-signed refunds
(sluice.deposits.refunds). See docs/contracts.md, "SluiceDeposits"."""

from sluice.deposits.calldata import (
    refund_calldata,
    refund_typed_data,
    rescue_calldata,
    sweep_calldata,
)
from sluice.deposits.terms import (
    DepositTerms,
    deposit_address,
    deposit_address_at,
    deposit_salt,
    forwarder_code_hash,
)

__all__ = [
    "DepositTerms",
    "deposit_address",
    "deposit_address_at",
    "deposit_salt",
    "forwarder_code_hash",
    "refund_calldata",
    "refund_typed_data",
    "rescue_calldata",
    "sweep_calldata",
]
