"""Gas limits for the transactions Sluice builds.

The pay (or deposit) after an approve that is not mined yet cannot be estimated with a plain
eth_estimateGas: it runs without the allowance and reverts. anvil (1.7) offers two ways round it, a
`stateOverride` argument to eth_estimateGas and `eth_simulateV1`. A state override would have to
name the allowance's storage slot, which differs from token to token (OpenZeppelin's mapping, USDC's
proxy layout, packed or custom layouts), so it is no general answer. Instead the whole sequence is
run with eth_simulateV1 (geth >= 1.14.9, reth, anvil: each call sees the effects of those before it)
and each later step gets its simulated gas used plus a margin; the first step is estimated as usual.
Nodes without eth_simulateV1 get a fixed bound instead (`pay_gas_bound`): generous, since only the
gas actually used is paid for.
"""

from __future__ import annotations

from typing import Any, Literal

import structlog
from web3 import AsyncWeb3
from web3.exceptions import ContractLogicError, Web3Exception
from web3.types import TxParams

from sluice.chain.intents import PaymentIntent
from sluice.chain.revert import decode_revert, revert_data
from sluice.errors import TransactionRevertedError

log = structlog.get_logger(__name__)

#: How a transaction's gas was found: eth_estimateGas, eth_simulateV1 after earlier steps, or a bound.
GasSource = Literal["estimated", "simulated", "bound"]

#: Fallback gas when eth_simulateV1 is missing: per call, plus per token transfer (merchant and each
#: split; a cold recipient balance costs ~25k, proxied tokens such as USDC add ~10k).
PAY_BASE_GAS = 120_000
TRANSFER_GAS = 60_000
APPROVE_GAS_BOUND = 100_000


def pay_gas_bound(intent: PaymentIntent) -> int:
    """Gas that covers a pay/deposit on any sane token when it cannot be estimated (no eth_simulateV1)."""
    return PAY_BASE_GAS + TRANSFER_GAS * (1 + len(intent.splits))


def with_margin(gas: int) -> int:
    """Room for state that changes before the transaction is mined (a recipient's balance emptied, …)."""
    return gas * 5 // 4 + 10_000


def reverted(data: bytes, step: str, cause: str = "") -> TransactionRevertedError:
    """The error for a step that would revert, naming the contract's custom error when known."""
    decoded = decode_revert(data)
    return TransactionRevertedError(
        f"the {step} transaction would revert: {decoded.describe() if data else cause or 'no reason given'}",
        reason=decoded.name,
        args=decoded.args,
        data=data,
    )


async def estimate_gas(w3: AsyncWeb3, call: TxParams) -> int:
    """eth_estimateGas plus margin; a revert becomes TransactionRevertedError with the decoded reason."""
    try:
        return with_margin(int(await w3.eth.estimate_gas(call)))
    except ContractLogicError as exc:
        raise reverted(revert_data(exc), step_name(call), str(exc)) from exc


def step_name(call: TxParams) -> str:
    """ "approve" or "payment", for error messages and the bound of a step."""
    data = str(call.get("data", ""))
    return {"0x095ea7b3": "approve"}.get(data[:10], "payment")


async def gas_for_sequence(
    w3: AsyncWeb3, calls: list[TxParams], *, bound: int
) -> tuple[list[int], list[GasSource]]:
    """Gas for each of a sequence of calls from one sender, each seeing the effects of those before it."""
    first = await estimate_gas(w3, calls[0])
    if len(calls) == 1:
        return [first], ["estimated"]
    used = await simulate(w3, calls)
    later: list[GasSource]
    if used is None:
        gas = [APPROVE_GAS_BOUND if step_name(c) == "approve" else bound for c in calls[1:]]
        later = ["bound"] * len(gas)
    else:  # gas used is after refunds (cleared allowance slots); the margin covers them and the 63/64 rule
        gas = [with_margin(g) for g in used[1:]]
        later = ["simulated"] * len(gas)
    return [first, *gas], ["estimated", *later]


async def simulate(w3: AsyncWeb3, calls: list[TxParams]) -> list[int] | None:
    """Gas used by each call run in sequence with eth_simulateV1; None when the node lacks it."""
    try:
        blocks = await w3.eth.simulate_v1({"blockStateCalls": [{"calls": calls}]}, "latest")
    except (Web3Exception, ValueError, NotImplementedError) as exc:
        log.warning("simulate_unavailable", error=str(exc)[:200])
        return None
    outcomes = blocks[0]["calls"]
    for call, outcome in zip(calls, outcomes, strict=True):
        if int(outcome["status"]) != 1:
            error: dict[str, Any] = dict(outcome.get("error") or {})
            # geth puts the revert data in error.data, anvil in returnData
            raw = error.get("data") or outcome.get("returnData") or b""
            data = bytes.fromhex(raw[2:]) if isinstance(raw, str) else bytes(raw)
            raise reverted(data, step_name(call), str(error.get("message", "")))
    return [int(outcome["gasUsed"]) for outcome in outcomes]
