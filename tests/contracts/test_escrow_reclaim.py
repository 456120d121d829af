"""SluiceEscrow.reclaim: from the reclaim time on, the payer (and only the payer) takes back what was
not captured or refunded, and the escrow closes."""

import pytest

from helpers import (
    ZERO,
    Status,
    balances,
    capturable,
    deltas,
    escrow_state,
    event,
    gas_cost,
    next_block_at,
    open_escrow,
    reverts,
    send,
    send_as,
)
from reverts import transact

pytestmark = pytest.mark.contracts


def _reclaim(system, intent):
    return system.escrow.functions.reclaim(intent.as_tuple())


def _after_reclaim_time(system, intent):
    system.chain.time_travel(intent.reclaim_after - system.chain.now() + 1)


def test_reclaim_one_second_before_the_reclaim_time_reverts_too_early(system):
    intent = open_escrow(system)
    ts = intent.reclaim_after - 1
    with next_block_at(system.chain, ts), reverts("ReclaimTooEarly", intent.id, intent.reclaim_after, ts):
        send(_reclaim(system, intent), system.payer)


def test_reclaim_right_after_deposit_reverts_too_early(system):
    intent = open_escrow(system)
    with reverts("ReclaimTooEarly") as r:
        transact(_reclaim(system, intent), system.payer)
    assert r.args[:2] == (intent.id, intent.reclaim_after)
    assert escrow_state(system, intent)["status"] == Status.OPEN


def test_reclaim_at_the_reclaim_time_returns_everything_to_the_payer(system):
    intent = open_escrow(system)
    parties = (system.payer, system.escrow.address, system.merchant)
    before = balances(system, system.usdc, *parties)
    with next_block_at(system.chain, intent.reclaim_after):
        receipt = send(_reclaim(system, intent), system.payer)
    assert system.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] == intent.reclaim_after
    assert deltas(before, balances(system, system.usdc, *parties)) == [intent.amount, -intent.amount, 0]
    state = escrow_state(system, intent)
    assert (state["status"], state["released"]) == (Status.RECLAIMED, intent.amount)
    assert capturable(system, intent) == 0
    assert event(system.escrow, "Reclaimed", receipt) == {
        "intentId": intent.id,
        "payer": system.payer,
        "amount": intent.amount,
    }


def test_reclaim_after_captures_and_refunds_returns_only_the_rest(system):
    intent = open_escrow(system, amount=1_000_000)
    send(system.escrow.functions.capture(intent.as_tuple(), 300_000), system.merchant)
    send_as(system.escrow.functions.refund(intent.as_tuple(), 100_000), system.chain.relayer)
    _after_reclaim_time(system, intent)
    before = system.balance(system.usdc, system.payer)
    receipt = send(_reclaim(system, intent), system.payer)
    assert system.balance(system.usdc, system.payer) - before == 600_000
    assert event(system.escrow, "Reclaimed", receipt)["amount"] == 600_000
    state = escrow_state(system, intent)
    assert (state["captured"], state["refunded"], state["released"]) == (300_000, 100_000, 600_000)


def test_reclaim_of_a_native_escrow_returns_the_exact_value(system):
    intent = open_escrow(system, token=ZERO, amount=10**18)
    _after_reclaim_time(system, intent)
    before = system.balance(None, system.payer)
    receipt = send(_reclaim(system, intent), system.payer)
    assert system.balance(None, system.payer) - before == intent.amount - gas_cost(receipt)


@pytest.mark.parametrize("caller", ["merchant", "other", "owner", "relayer"])
def test_reclaim_by_anyone_but_the_payer_reverts_not_payer(system, caller):
    intent = open_escrow(system)
    _after_reclaim_time(system, intent)
    address = system.chain.relayer.address if caller == "relayer" else getattr(system, caller)
    with reverts("NotPayer", intent.id, system.payer, address):
        if caller == "relayer":
            send_as(_reclaim(system, intent), system.chain.relayer)
        else:
            transact(_reclaim(system, intent), address)


def test_every_operation_after_reclaim_reverts_escrow_not_open(system):
    intent = open_escrow(system)
    _after_reclaim_time(system, intent)
    send(_reclaim(system, intent), system.payer)
    closed = ("EscrowNotOpen", intent.id, Status.RECLAIMED)
    with reverts(*closed):
        transact(_reclaim(system, intent), system.payer)
    with reverts(*closed):
        transact(system.escrow.functions.refund(intent.as_tuple(), 1), system.merchant)
    with reverts(*closed):
        transact(system.escrow.functions.void(intent.as_tuple()), system.merchant)
    with reverts(*closed):
        transact(system.escrow.functions.capture(intent.as_tuple(), 1), system.merchant)


def test_reclaim_with_an_altered_intent_reverts_escrow_not_open(system):
    intent = open_escrow(system)
    _after_reclaim_time(system, intent)
    forged = system.intent("escrow", id=intent.id, reclaim_after=intent.reclaim_after, payer=system.payer)
    with reverts("EscrowNotOpen", intent.id, Status.NONE):
        transact(_reclaim(system, forged), system.payer)
