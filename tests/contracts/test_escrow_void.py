"""SluiceEscrow.void: operator or merchant closes the escrow, returning everything not yet captured or
refunded to the payer; nothing works on it afterwards."""

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
    open_escrow,
    reverts,
    send,
    send_as,
)
from reverts import transact

pytestmark = pytest.mark.contracts


def _void(system, intent):
    return system.escrow.functions.void(intent.as_tuple())


@pytest.mark.parametrize("caller", ["relayer", "merchant"])
def test_void_returns_the_uncaptured_rest_to_the_payer_and_closes_the_escrow(system, caller):
    intent = open_escrow(system, amount=1_000_000)
    send(system.escrow.functions.capture(intent.as_tuple(), 250_000), system.merchant)
    send_as(system.escrow.functions.refund(intent.as_tuple(), 150_000), system.chain.relayer)
    parties = (system.payer, system.escrow.address, system.merchant)
    before = balances(system, system.usdc, *parties)

    receipt = call_as(system, _void(system, intent), caller)

    assert deltas(before, balances(system, system.usdc, *parties)) == [600_000, -600_000, 0]
    assert escrow_state(system, intent) | {"key": None} == {
        "key": None,
        "payer": system.payer,
        "status": Status.VOIDED,
        "deposited": 1_000_000,
        "captured": 250_000,
        "refunded": 150_000,
        "released": 600_000,
    }
    assert capturable(system, intent) == 0
    assert event(system.escrow, "Voided", receipt) == {
        "intentId": intent.id,
        "payer": system.payer,
        "amount": 600_000,
    }


def test_void_of_a_fully_captured_escrow_releases_nothing(system):
    intent = open_escrow(system)
    send(system.escrow.functions.capture(intent.as_tuple(), intent.amount), system.merchant)
    before = system.balance(system.usdc, system.payer)
    receipt = send(_void(system, intent), system.merchant)
    assert system.balance(system.usdc, system.payer) == before
    assert event(system.escrow, "Voided", receipt)["amount"] == 0
    assert escrow_state(system, intent)["status"] == Status.VOIDED


def test_void_of_a_native_escrow_returns_the_exact_value(system):
    intent = open_escrow(system, token=ZERO, amount=10**18)
    before = system.balance(None, system.payer)
    send_as(_void(system, intent), system.chain.relayer)
    assert system.balance(None, system.payer) - before == intent.amount
    assert system.balance(None, system.escrow.address) == 0


def test_void_of_a_partially_funded_escrow_returns_what_was_deposited(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    deposit(system, intent, 400_000)
    before = system.balance(system.usdc, system.payer)
    send(_void(system, intent), system.merchant)
    assert system.balance(system.usdc, system.payer) - before == 400_000


@pytest.mark.parametrize("caller", ["payer", "other"])
def test_void_by_anyone_but_relayer_or_merchant_reverts(system, caller):
    intent = open_escrow(system)
    with reverts("NotRelayerOrMerchant", getattr(system, caller)):
        transact(_void(system, intent), getattr(system, caller))


def test_every_operation_after_void_reverts_escrow_not_open(system):
    intent = open_escrow(system)
    send(_void(system, intent), system.merchant)
    closed = ("EscrowNotOpen", intent.id, Status.VOIDED)
    with reverts(*closed):
        transact(system.escrow.functions.capture(intent.as_tuple(), 1), system.merchant)
    with reverts(*closed):
        transact(system.escrow.functions.refund(intent.as_tuple(), 1), system.merchant)
    with reverts(*closed):
        transact(_void(system, intent), system.merchant)
    with reverts(*closed):
        deposit(system, intent, 1)
    system.chain.time_travel(intent.reclaim_after - system.chain.now() + 1)
    with reverts(*closed):
        transact(system.escrow.functions.reclaim(intent.as_tuple()), system.payer)


def test_void_of_a_never_funded_intent_reverts_escrow_not_open(system):
    intent = system.intent("escrow")
    with reverts("EscrowNotOpen", intent.id, Status.NONE):
        transact(_void(system, intent), system.merchant)
