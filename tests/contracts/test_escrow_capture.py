"""SluiceEscrow.capture: relayer or merchant takes part or all of the deposit, splits paid on the running
captured total, only before the reclaim time, and also while the contract is paused."""

import pytest

from sluice.chain.intents import Split

from factories import with_fields
from helpers import (
    BPS,
    ZERO,
    Status,
    balances,
    call_as,
    capturable,
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


@pytest.mark.parametrize("caller", ["relayer", "merchant"])
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
    state = escrow_state(system, intent)
    assert (state["status"], state["captured"], state["refunded"]) == (Status.OPEN, intent.amount, 0)
    assert capturable(system, intent) == 0
    captured = event(system.escrow, "Captured", receipt)
    assert captured == {
        "intentId": intent.id,
        "merchant": system.merchant,
        "amount": intent.amount,
        "merchantAmount": merchant_share,
        "feeAmounts": fees,
        "totalCaptured": intent.amount,
    }


def running_shares(before, total, splits):
    """What a capture taking the captured total from `before` to `total` pays: each split its share of
    the new total less its share of the previous one (capped by what is left), the merchant the rest."""
    left = total - before
    fees = []
    for split in splits:
        fee = min(total * split.bps // BPS - before * split.bps // BPS, left)
        fees.append(fee)
        left -= fee
    return left, fees


def test_partial_captures_compute_splits_on_the_running_total_and_add_up(system):
    splits = (Split(system.fee_recipient, 333), Split(system.other, 250), Split(system.owner, 1))
    intent = open_escrow(system, amount=1_000_001, splits=splits)
    recipients = (system.merchant, system.fee_recipient, system.other, system.owner)
    before = balances(system, system.usdc, *recipients)
    parts = (333_333, 7, 400_000)
    expected = [0, 0, 0, 0]
    total = 0
    for i, part in enumerate(parts):
        caller = "relayer" if i % 2 == 0 else "merchant"
        receipt = call_as(system, _capture(system, intent, part), caller)
        merchant_share, fees = running_shares(total, total + part, splits)
        expected = [a + b for a, b in zip(expected, [merchant_share, *fees], strict=True)]
        total += part
        cap = event(system.escrow, "Captured", receipt)
        assert (cap["amount"], cap["merchantAmount"], cap["feeAmounts"]) == (part, merchant_share, fees)
        assert cap["totalCaptured"] == total
        assert deltas(before, balances(system, system.usdc, *recipients)) == expected
    assert escrow_state(system, intent)["captured"] == total
    assert capturable(system, intent) == intent.amount - total
    # Captured in pieces, the splits got exactly what one capture of the total would have paid.
    assert expected == [*shares(total, splits)[:1], *shares(total, splits)[1]]


def test_capturing_in_small_pieces_pays_the_same_fee_as_at_once(system):
    """The review's finding: three captures of 99 units at 1% paid no fee at all (each rounded down)."""
    intent = open_escrow(system, amount=297, splits=(Split(system.fee_recipient, 100),))
    before = system.balance(system.usdc, system.fee_recipient)
    fees = []
    for _ in range(3):
        receipt = send(_capture(system, intent, 99), system.merchant)
        fees.append(event(system.escrow, "Captured", receipt)["feeAmounts"][0])
    assert fees == [0, 1, 1]  # 1% of 99, 198, 297 rounded down: 0, 1, 2
    assert system.balance(system.usdc, system.fee_recipient) - before == 297 * 100 // BPS == 2


def test_coinciding_roundings_of_several_splits_never_take_more_than_the_capture(system):
    splits = (Split(system.fee_recipient, 1500), Split(system.other, 1500))
    intent = open_escrow(system, amount=100, splits=splits)
    send(_capture(system, intent, 6), system.merchant)  # 15% of 6 = 0.9 each: 0 and 0
    receipt = send(_capture(system, intent, 1), system.merchant)  # 15% of 7 = 1.05: both shares step up
    cap = event(system.escrow, "Captured", receipt)
    assert (cap["merchantAmount"], cap["feeAmounts"]) == (0, [1, 0])


def test_capture_native_coin_pays_merchant_and_splits_exactly(system):
    intent = open_escrow(system, token=ZERO, amount=2 * 10**18 + 3)
    parties = (system.escrow.address, system.merchant, system.fee_recipient)
    before = balances(system, None, *parties)
    send_as(_capture(system, intent, 10**18), system.chain.relayer)
    merchant_share, fees = shares(10**18, intent.splits)
    assert deltas(before, balances(system, None, *parties)) == [-(10**18), merchant_share, *fees]


@pytest.mark.parametrize("caller", ["payer", "other", "fee_recipient", "owner"])
def test_capture_by_anyone_but_relayer_or_merchant_reverts(system, caller):
    intent = open_escrow(system)
    with reverts("NotRelayerOrMerchant", getattr(system, caller)):
        transact(_capture(system, intent, 1), getattr(system, caller))


def test_capture_by_the_intent_signer_reverts(system):
    """The review's design finding: the hot signing key could capture (or void) any open escrow."""
    intent = open_escrow(system)
    with reverts("NotRelayerOrMerchant", system.chain.operator.address):
        send_as(_capture(system, intent, 1), system.chain.operator)


def test_capture_by_a_relayer_replaced_by_the_owner_reverts(system):
    intent = open_escrow(system)
    new_relayer = system.chain.accounts[7].address
    receipt = send(system.escrow.functions.setRelayer(new_relayer), system.owner)
    assert event(system.escrow, "RelayerChanged", receipt) == {
        "previousRelayer": system.chain.relayer.address,
        "newRelayer": new_relayer,
    }
    with reverts("NotRelayerOrMerchant", system.chain.relayer.address):
        send_as(_capture(system, intent, 1), system.chain.relayer)
    send(_capture(system, intent, 1), new_relayer)  # the new relayer may capture
    assert escrow_state(system, intent)["captured"] == 1


def test_capture_of_more_than_the_uncaptured_balance_reverts_insufficient_balance(system):
    intent = open_escrow(system, amount=1_000_000)
    send_as(_capture(system, intent, 600_000), system.chain.relayer)
    send_as(system.escrow.functions.refund(intent.as_tuple(), 150_000), system.chain.relayer)
    with reverts("InsufficientBalance", intent.id, 250_000, 250_001):
        transact(_capture(system, intent, 250_001), system.merchant)
    send(_capture(system, intent, 250_000), system.merchant)
    assert escrow_state(system, intent)["captured"] == 850_000


def test_capture_cannot_take_funds_deposited_for_another_intent(system):
    small = open_escrow(system, amount=1_000)
    open_escrow(system, amount=5_000_000)  # the contract holds far more than `small` has
    with reverts("InsufficientBalance", small.id, 1_000, 1_001):
        transact(_capture(system, small, 1_001), system.merchant)


def test_capture_of_zero_reverts_zero_amount(system):
    intent = open_escrow(system)
    with reverts("ZeroAmount"):
        transact(_capture(system, intent, 0), system.merchant)


def test_capture_with_a_swapped_merchant_reverts_escrow_not_open(system):
    """A stranger cannot present the intent with itself as merchant to pass the merchant check: the
    altered intent keys no escrow."""
    intent = open_escrow(system)
    forged = with_fields(intent, merchant=system.other)
    with reverts("EscrowNotOpen", intent.id, Status.NONE):
        transact(_capture(system, forged, intent.amount), system.other)


def test_capture_with_altered_splits_reverts_escrow_not_open(system):
    intent = open_escrow(system)
    forged = with_fields(intent, splits=(Split(system.fee_recipient, 3000),))
    with reverts("EscrowNotOpen", intent.id, Status.NONE):
        send_as(_capture(system, forged, intent.amount), system.chain.relayer)


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
        send_as(_capture(system, intent, 1), system.chain.relayer)


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
        send_as(_capture(system, intent, intent.amount), system.chain.relayer)
    assert escrow_state(system, intent)["captured"] == intent.amount


def test_capture_after_the_deposit_deadline_is_still_allowed(system):
    intent = open_escrow(system)
    system.chain.time_travel(intent.deadline - system.chain.now() + 60)
    send(_capture(system, intent, intent.amount), system.merchant)
    assert escrow_state(system, intent)["captured"] == intent.amount


def test_capture_works_while_paused_so_a_pause_cannot_hand_the_payer_a_reclaim(system):
    """The review's finding: a pause lasting past reclaimAfter blocked the merchant's capture, then let
    the payer reclaim. Capture only pays the signed merchant and splits, so it stays open."""
    intent = open_escrow(system)
    send(system.escrow.functions.pause(), system.owner)
    with next_block_at(system.chain, intent.reclaim_after - 1):
        send(_capture(system, intent, intent.amount), system.merchant)
    assert escrow_state(system, intent)["captured"] == intent.amount


def test_capture_of_a_partially_funded_escrow_is_limited_to_what_was_deposited(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    deposit(system, intent, 300_000)
    with reverts("InsufficientBalance", intent.id, 300_000, 300_001):
        transact(_capture(system, intent, 300_001), system.merchant)
    send(_capture(system, intent, 300_000), system.merchant)
    deposit(system, intent, 700_000)
    assert capturable(system, intent) == 700_000
