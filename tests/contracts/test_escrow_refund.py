"""SluiceEscrow.refund: operator or merchant returns part of the uncaptured balance, only ever to the
payer who deposited, and the escrow stays open."""

import pytest

from helpers import (
    ZERO,
    Status,
    balances,
    call_as,
    capturable,
    deltas,
    deposit,
    escrow_state,
    event,
    held,
    open_escrow,
    reverts,
    send,
    send_as,
)
from reverts import transact

pytestmark = pytest.mark.contracts


def _refund(system, intent, amount):
    return system.escrow.functions.refund(intent.as_tuple(), amount)


@pytest.mark.parametrize("caller", ["relayer", "merchant"])
def test_partial_refund_returns_to_the_payer_and_keeps_the_escrow_open(system, caller):
    intent = open_escrow(system, amount=1_000_000)
    parties = (system.payer, system.escrow.address, system.merchant, system.fee_recipient)
    before = balances(system, system.usdc, *parties)

    receipt = call_as(system, _refund(system, intent, 300_000), caller)

    assert deltas(before, balances(system, system.usdc, *parties)) == [300_000, -300_000, 0, 0]
    state = escrow_state(system, intent)
    assert (state["status"], state["refunded"], state["captured"]) == (Status.OPEN, 300_000, 0)
    assert capturable(system, intent) == 700_000
    assert event(system.escrow, "Refunded", receipt) == {
        "intentId": intent.id,
        "payer": system.payer,
        "amount": 300_000,
        "totalRefunded": 300_000,
    }


def test_several_refunds_and_captures_share_one_balance(system):
    intent = open_escrow(system, amount=1_000_000)
    send_as(_refund(system, intent, 100_000), system.chain.relayer)
    send(system.escrow.functions.capture(intent.as_tuple(), 500_000), system.merchant)
    receipt = send(_refund(system, intent, 400_000), system.merchant)
    assert event(system.escrow, "Refunded", receipt)["totalRefunded"] == 500_000
    state = escrow_state(system, intent)
    assert (state["captured"], state["refunded"]) == (500_000, 500_000)
    assert capturable(system, intent) == 0
    with reverts("InsufficientBalance", intent.id, 0, 1):
        transact(_refund(system, intent, 1), system.merchant)


def test_refund_called_by_the_merchant_pays_the_payer_not_the_caller(system):
    intent = open_escrow(system)
    parties = (system.payer, system.merchant)
    before = balances(system, system.usdc, *parties)
    send(_refund(system, intent, intent.amount), system.merchant)
    assert deltas(before, balances(system, system.usdc, *parties)) == [intent.amount, 0]


def test_refund_goes_to_whoever_deposited_an_open_intent(system):
    intent = system.intent("escrow")  # payer = zero address: funded by `other`
    deposit(system, intent, sender=system.other)
    parties = (system.other, system.payer)
    before = balances(system, system.usdc, *parties)
    receipt = send_as(_refund(system, held(system, intent, system.other), 5_000), system.chain.relayer)
    assert deltas(before, balances(system, system.usdc, *parties)) == [5_000, 0]
    assert event(system.escrow, "Refunded", receipt)["payer"] == system.other


def test_refund_native_coin_returns_exact_value_to_the_payer(system):
    intent = open_escrow(system, token=ZERO, amount=10**18)
    parties = (system.payer, system.escrow.address)
    before = balances(system, None, *parties)
    send_as(_refund(system, intent, 4 * 10**17), system.chain.relayer)
    assert deltas(before, balances(system, None, *parties)) == [4 * 10**17, -4 * 10**17]


@pytest.mark.parametrize("caller", ["payer", "other"])
def test_refund_by_anyone_but_relayer_or_merchant_reverts(system, caller):
    intent = open_escrow(system)
    with reverts("NotRelayerOrMerchant", getattr(system, caller)):
        transact(_refund(system, intent, 1), getattr(system, caller))


def test_refund_of_more_than_the_uncaptured_balance_reverts_insufficient_balance(system):
    intent = open_escrow(system, amount=1_000_000)
    send(system.escrow.functions.capture(intent.as_tuple(), 999_000), system.merchant)
    with reverts("InsufficientBalance", intent.id, 1_000, 1_001):
        transact(_refund(system, intent, 1_001), system.merchant)


def test_refund_of_zero_reverts_zero_amount(system):
    intent = open_escrow(system)
    with reverts("ZeroAmount"):
        transact(_refund(system, intent, 0), system.merchant)


def test_refund_with_an_altered_intent_reverts_escrow_not_open(system):
    intent = open_escrow(system)
    forged = system.intent("escrow", id=intent.id, merchant=system.other, payer=system.payer)
    with reverts("EscrowNotOpen", intent.id, Status.NONE):
        transact(_refund(system, forged, 1), system.other)


def test_refund_after_the_reclaim_time_is_still_allowed(system):
    intent = open_escrow(system)
    system.chain.time_travel(intent.reclaim_after - system.chain.now() + 60)
    before = system.balance(system.usdc, system.payer)
    send(_refund(system, intent, intent.amount), system.merchant)
    assert system.balance(system.usdc, system.payer) - before == intent.amount
