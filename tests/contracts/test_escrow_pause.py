"""SluiceEscrow while paused: no new money comes in (deposit), but funds already held keep every way
out: capture (it only pays the signed merchant and splits), refund, void and reclaim."""

import pytest

from helpers import Status, deposit, escrow_state, open_escrow, reverts, send, send_as

pytestmark = pytest.mark.contracts


@pytest.fixture
def paused_escrow(system):
    """An escrow funded before the pause, and the escrow contract paused."""
    intent = open_escrow(system, amount=1_000_000, allow_partial=True, payer=system.payer)
    send(system.escrow.functions.pause(), system.owner)
    assert system.escrow.functions.paused().call() is True
    return intent


def test_first_deposit_reverts_while_paused(system, paused_escrow):
    intent = system.intent("escrow")
    with reverts("EnforcedPause"):
        deposit(system, intent)


def test_later_partial_deposit_reverts_while_paused(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    deposit(system, intent, 500_000)
    send(system.escrow.functions.pause(), system.owner)
    with reverts("EnforcedPause"):
        deposit(system, intent, 500_000)
    assert escrow_state(system, intent)["deposited"] == 500_000


def test_capture_works_while_paused(system, paused_escrow):
    send_as(system.escrow.functions.capture(paused_escrow.as_tuple(), 1), system.chain.relayer)
    assert escrow_state(system, paused_escrow)["captured"] == 1


def test_refund_works_while_paused(system, paused_escrow):
    before = system.balance(system.usdc, system.payer)
    send(system.escrow.functions.refund(paused_escrow.as_tuple(), 400_000), system.merchant)
    assert system.balance(system.usdc, system.payer) - before == 400_000


def test_void_works_while_paused(system, paused_escrow):
    before = system.balance(system.usdc, system.payer)
    send_as(system.escrow.functions.void(paused_escrow.as_tuple()), system.chain.relayer)
    assert system.balance(system.usdc, system.payer) - before == paused_escrow.amount
    assert escrow_state(system, paused_escrow)["status"] == Status.VOIDED


def test_reclaim_works_while_paused(system, paused_escrow):
    system.chain.time_travel(paused_escrow.reclaim_after - system.chain.now() + 1)
    before = system.balance(system.usdc, system.payer)
    send(system.escrow.functions.reclaim(paused_escrow.as_tuple()), system.payer)
    assert system.balance(system.usdc, system.payer) - before == paused_escrow.amount
    assert escrow_state(system, paused_escrow)["status"] == Status.RECLAIMED


def test_pausing_the_escrow_does_not_pause_payments(system, paused_escrow):
    assert system.payments.functions.paused().call() is False
