"""Owner powers on both contracts: pause and unpause, two-step ownership transfer, no renouncing."""

import pytest

from helpers import ZERO, event, pay, reverts, send, send_as
from reverts import transact

pytestmark = pytest.mark.contracts

KINDS = ["payments", "escrow"]


def _new_owner(system):
    return system.chain.accounts[6].address


@pytest.mark.parametrize("kind", KINDS)
def test_owner_pauses_and_unpauses_with_events(system, kind):
    contract = system.contract(kind)
    assert contract.functions.paused().call() is False
    receipt = send(contract.functions.pause(), system.owner)
    assert event(contract, "Paused", receipt) == {"account": system.owner}
    assert contract.functions.paused().call() is True
    receipt = send(contract.functions.unpause(), system.owner)
    assert event(contract, "Unpaused", receipt) == {"account": system.owner}
    assert contract.functions.paused().call() is False


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caller", ["payer", "merchant", "operator"])
def test_pause_and_unpause_by_anyone_but_the_owner_revert(system, kind, caller):
    contract = system.contract(kind)
    address = system.chain.operator.address if caller == "operator" else getattr(system, caller)

    def as_caller(fn):
        return send_as(fn, system.chain.operator) if caller == "operator" else transact(fn, address)

    with reverts("OwnableUnauthorizedAccount", address):
        as_caller(contract.functions.pause())
    send(contract.functions.pause(), system.owner)
    with reverts("OwnableUnauthorizedAccount", address):
        as_caller(contract.functions.unpause())
    assert contract.functions.paused().call() is True


@pytest.mark.parametrize("kind", KINDS)
def test_pause_when_paused_reverts_enforced_pause_and_unpause_when_not_reverts_expected_pause(system, kind):
    contract = system.contract(kind)
    with reverts("ExpectedPause"):
        transact(contract.functions.unpause(), system.owner)
    send(contract.functions.pause(), system.owner)
    with reverts("EnforcedPause"):
        transact(contract.functions.pause(), system.owner)


@pytest.mark.parametrize("kind", KINDS)
def test_ownership_moves_only_when_the_pending_owner_accepts(system, kind):
    contract = system.contract(kind)
    new_owner = _new_owner(system)
    receipt = send(contract.functions.transferOwnership(new_owner), system.owner)
    assert event(contract, "OwnershipTransferStarted", receipt) == {
        "previousOwner": system.owner,
        "newOwner": new_owner,
    }
    assert contract.functions.owner().call() == system.owner
    assert contract.functions.pendingOwner().call() == new_owner

    receipt = send(contract.functions.acceptOwnership(), new_owner)

    assert event(contract, "OwnershipTransferred", receipt) == {
        "previousOwner": system.owner,
        "newOwner": new_owner,
    }
    assert contract.functions.owner().call() == new_owner
    assert contract.functions.pendingOwner().call() == ZERO
    send(contract.functions.pause(), new_owner)  # the new owner has the owner's powers
    with reverts("OwnableUnauthorizedAccount", system.owner):  # and the old one has none
        transact(contract.functions.unpause(), system.owner)


@pytest.mark.parametrize("kind", KINDS)
def test_pending_owner_cannot_act_before_accepting(system, kind):
    contract = system.contract(kind)
    new_owner = _new_owner(system)
    send(contract.functions.transferOwnership(new_owner), system.owner)
    with reverts("OwnableUnauthorizedAccount", new_owner):
        transact(contract.functions.pause(), new_owner)
    with reverts("OwnableUnauthorizedAccount", new_owner):
        transact(contract.functions.rotateSigner(new_owner, 0), new_owner)
    send(contract.functions.pause(), system.owner)  # the current owner still can


@pytest.mark.parametrize("kind", KINDS)
def test_accept_ownership_by_anyone_but_the_pending_owner_reverts(system, kind):
    contract = system.contract(kind)
    send(contract.functions.transferOwnership(_new_owner(system)), system.owner)
    with reverts("OwnableUnauthorizedAccount", system.other):
        transact(contract.functions.acceptOwnership(), system.other)
    assert contract.functions.owner().call() == system.owner


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_transfer_replaces_the_pending_owner(system, kind):
    contract = system.contract(kind)
    first = _new_owner(system)
    send(contract.functions.transferOwnership(first), system.owner)
    send(contract.functions.transferOwnership(system.other), system.owner)
    with reverts("OwnableUnauthorizedAccount", first):
        transact(contract.functions.acceptOwnership(), first)
    send(contract.functions.acceptOwnership(), system.other)
    assert contract.functions.owner().call() == system.other


@pytest.mark.parametrize("kind", KINDS)
def test_transfer_ownership_by_anyone_but_the_owner_reverts(system, kind):
    with reverts("OwnableUnauthorizedAccount", system.payer):
        transact(system.contract(kind).functions.transferOwnership(system.payer), system.payer)


@pytest.mark.parametrize("kind", KINDS)
def test_renounce_ownership_reverts_renounce_disabled_and_keeps_the_owner(system, kind):
    contract = system.contract(kind)
    with reverts("RenounceDisabled"):
        transact(contract.functions.renounceOwnership(), system.owner)
    with reverts("OwnableUnauthorizedAccount", system.payer):
        transact(contract.functions.renounceOwnership(), system.payer)
    assert contract.functions.owner().call() == system.owner


def test_pausing_payments_does_not_pause_the_escrow(system):
    send(system.payments.functions.pause(), system.owner)
    assert system.escrow.functions.paused().call() is False
    with reverts("EnforcedPause"):
        pay(system, system.intent())
