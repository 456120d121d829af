"""SluiceEscrow.capture: operator or merchant takes part or all of the deposit, splits paid per capture,
and only before the reclaim time."""

import pytest

from sluice.chain.intents import Split

from factories import with_fields
from helpers import (
    ZERO,
    Status,
    balances,
    call_as,
    deltas,
    deposit,
    escrow_state,
    event,
    next_block_at,
    open_escrow,
    reverts,
    send,
    send_as,
    shares,
)
from reverts import transact

pytestmark = pytest.mark.contracts


def _capture(system, intent, amount):
    return system.escrow.functions.capture(intent.as_tuple(), amount)


@pytest.mark.parametrize("caller", ["operator", "merchant"])
def test_capture_of_the_full_deposit_pays_merchant_and_splits_exactly(system, caller):
    intent = open_escrow(system)
    parties = (system.escrow.address, system.merchant, system.fee_recipient, system.payer)
    before = balances(system, system.usdc, *parties)

    receipt = call_as(system, _capture(system, intent, intent.amount), caller)

    merchant_share, fees = shares(intent.amount, intent.splits)
    assert deltas(before, balances(system, system.usdc, *parties)) == [
        -intent.amount,
        merchant_share,
        *fees,
        0,
    ]
    state = escrow_state(system, intent.id)
    assert (state["status"], state["captured"], state["refunded"]) == (Status.OPEN, intent.amount, 0)
    assert system.escrow.functions.capturable(intent.id).call() == 0
    captured = event(system.escrow, "Captured", receipt)
    assert captured == {
        "intentId": intent.id,
        "merchant": system.merchant,
        "amount": intent.amount,
        "merchantAmount": merchant_share,
        "feeAmounts": fees,
        "totalCaptured": intent.amount,
    }


def test_partial_captures_compute_splits_per_capture_and_add_up(system):
    splits = (Split(system.fee_recipient, 333), Split(system.other, 250), Split(system.owner, 1))
    intent = open_escrow(system, amount=1_000_001, splits=splits)
    recipients = (system.merchant, system.fee_recipient, system.other, system.owner)
    before = balances(system, system.usdc, *recipients)
    parts = (333_333, 7, 400_000)
    expected = [0, 0, 0, 0]
    total = 0
    for i, part in enumerate(parts):
        caller = "operator" if i % 2 == 0 else "merchant"
        receipt = call_as(system, _capture(system, intent, part), caller)
        merchant_share, fees = shares(part, splits)  # rounding applies to each capture on its own
        expected = [a + b for a, b in zip(expected, [merchant_share, *fees], strict=True)]
        total += part
        cap = event(system.escrow, "Captured", receipt)
        assert (cap["amount"], cap["merchantAmount"], cap["feeAmounts"]) == (part, merchant_share, fees)
        assert cap["totalCaptured"] == total
        assert deltas(before, balances(system, system.usdc, *recipients)) == expected
    assert escrow_state(system, intent.id)["captured"] == total
    assert system.escrow.functions.capturable(intent.id).call() == intent.amount - total
    # The parts are chosen so that rounding each capture differs from rounding their total.
    assert expected != [*shares(total, splits)[:1], *shares(total, splits)[1]]


def test_capture_native_coin_pays_merchant_and_splits_exactly(system):
    intent = open_escrow(system, token=ZERO, amount=2 * 10**18 + 3)
    parties = (system.escrow.address, system.merchant, system.fee_recipient)
    before = balances(system, None, *parties)
    send_as(_capture(system, intent, 10**18), system.chain.operator)
    merchant_share, fees = shares(10**18, intent.splits)
    assert deltas(before, balances(system, None, *parties)) == [-(10**18), merchant_share, *fees]


@pytest.mark.parametrize("caller", ["payer", "other", "fee_recipient", "owner"])
def test_capture_by_anyone_but_operator_or_merchant_reverts(system, caller):
    intent = open_escrow(system)
    with reverts("NotOperatorOrMerchant", getattr(system, caller)):
        transact(_capture(system, intent, 1), getattr(system, caller))


def test_capture_by_a_signer_rotated_out_without_grace_reverts(system):
    intent = open_escrow(system)
    new_signer = system.chain.accounts[7].address
    send(system.escrow.functions.rotateSigner(new_signer, 0), system.owner)
    with reverts("NotOperatorOrMerchant", system.chain.operator.address):
        send_as(_capture(system, intent, 1), system.chain.operator)
    send(_capture(system, intent, 1), new_signer)  # the new signer may capture
    assert escrow_state(system, intent.id)["captured"] == 1


def test_capture_of_more_than_the_uncaptured_balance_reverts_insufficient_balance(system):
    intent = open_escrow(system, amount=1_000_000)
    send_as(_capture(system, intent, 600_000), system.chain.operator)
    send_as(system.escrow.functions.refund(intent.as_tuple(), 150_000), system.chain.operator)
    with reverts("InsufficientBalance", intent.id, 250_000, 250_001):
        transact(_capture(system, intent, 250_001), system.merchant)
    send(_capture(system, intent, 250_000), system.merchant)
    assert escrow_state(system, intent.id)["captured"] == 850_000


def test_capture_cannot_take_funds_deposited_for_another_intent(system):
    small = open_escrow(system, amount=1_000)
    open_escrow(system, amount=5_000_000)  # the contract holds far more than `small` has
    with reverts("InsufficientBalance", small.id, 1_000, 1_001):
        transact(_capture(system, small, 1_001), system.merchant)


def test_capture_of_zero_reverts_zero_amount(system):
    intent = open_escrow(system)
    with reverts("ZeroAmount"):
        transact(_capture(system, intent, 0), system.merchant)


def test_capture_with_a_swapped_merchant_reverts_intent_mismatch(system):
    """A stranger cannot present the intent with itself as merchant to pass the merchant check."""
    intent = open_escrow(system)
    forged = with_fields(intent, merchant=system.other)
    with reverts("IntentMismatch", intent.id):
        transact(_capture(system, forged, intent.amount), system.other)


def test_capture_with_altered_splits_reverts_intent_mismatch(system):
    intent = open_escrow(system)
    forged = with_fields(intent, splits=(Split(system.fee_recipient, 3000),))
    with reverts("IntentMismatch", intent.id):
        send_as(_capture(system, forged, intent.amount), system.chain.operator)


def test_capture_of_a_never_funded_intent_reverts_escrow_not_open(system):
    intent = system.intent("escrow")
    with reverts("EscrowNotOpen", intent.id, Status.NONE):
        transact(_capture(system, intent, 1), system.merchant)


def test_capture_at_the_reclaim_time_reverts_capture_window_closed(system):
    intent = open_escrow(system)
    with (
        next_block_at(system.chain, intent.reclaim_after),
        reverts("CaptureWindowClosed", intent.id, intent.reclaim_after, intent.reclaim_after),
    ):
        send_as(_capture(system, intent, 1), system.chain.operator)


def test_capture_after_the_reclaim_time_reverts_capture_window_closed(system):
    intent = open_escrow(system)
    system.chain.time_travel(intent.reclaim_after - system.chain.now() + 3600)
    with reverts("CaptureWindowClosed") as r:
        transact(_capture(system, intent, 1), system.merchant)
    assert r.args[:2] == (intent.id, intent.reclaim_after)
    assert r.args[2] > intent.reclaim_after


def test_capture_one_second_before_the_reclaim_time_succeeds(system):
    intent = open_escrow(system)
    with next_block_at(system.chain, intent.reclaim_after - 1):
        send_as(_capture(system, intent, intent.amount), system.chain.operator)
    assert escrow_state(system, intent.id)["captured"] == intent.amount


def test_capture_after_the_deposit_deadline_is_still_allowed(system):
    intent = open_escrow(system)
    system.chain.time_travel(intent.deadline - system.chain.now() + 60)
    send(_capture(system, intent, intent.amount), system.merchant)
    assert escrow_state(system, intent.id)["captured"] == intent.amount


def test_capture_reverts_when_paused_and_works_after_unpause(system):
    intent = open_escrow(system)
    send(system.escrow.functions.pause(), system.owner)
    with reverts("EnforcedPause"):
        transact(_capture(system, intent, 1), system.merchant)
    send(system.escrow.functions.unpause(), system.owner)
    send(_capture(system, intent, 1), system.merchant)
    assert escrow_state(system, intent.id)["captured"] == 1


def test_capture_of_a_partially_funded_escrow_is_limited_to_what_was_deposited(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True)
    deposit(system, intent, 300_000)
    with reverts("InsufficientBalance", intent.id, 300_000, 300_001):
        transact(_capture(system, intent, 300_001), system.merchant)
    send(_capture(system, intent, 300_000), system.merchant)
    deposit(system, intent, 700_000)
    assert system.escrow.functions.capturable(intent.id).call() == 700_000
