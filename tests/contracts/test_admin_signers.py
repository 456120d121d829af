"""Operator signer rotation on both contracts: owner only, a new signer's intents are accepted, the
replaced one's only during the grace period the owner grants (none for a leaked key)."""

import pytest
from eth_account import Account

from helpers import deposit, event, next_block_at, pay, reverts, send, send_as
from reverts import transact

pytestmark = pytest.mark.contracts

NEW_KEY = "0x" + "33" * 32
NEW_SIGNER = Account.from_key(NEW_KEY).address
THIRD_KEY = "0x" + "44" * 32

KINDS = ["payments", "escrow"]


def _use(system, kind, key=None):
    """Pays (payments) or deposits (escrow) a fresh intent signed with `key` (the operator's by default)."""
    intent = system.intent(kind)
    signature = system.sign(intent, kind, key=key)
    if kind == "payments":
        return pay(system, intent, signature=signature)
    return deposit(system, intent, signature=signature)


def _use_fn(system, kind, intent, signature):
    functions = system.contract(kind).functions
    if kind == "payments":
        return functions.pay(intent.as_tuple(), signature)
    return functions.deposit(intent.as_tuple(), signature, intent.amount)


def _rotate(system, kind, new_signer, grace):
    return send(system.contract(kind).functions.rotateSigner(new_signer, grace), system.owner)


@pytest.mark.parametrize("kind", KINDS)
def test_rotate_signer_by_owner_replaces_the_signer_and_emits_signer_rotated(system, kind):
    contract = system.contract(kind)
    operator = system.chain.operator.address
    assert contract.functions.signer().call() == operator
    receipt = _rotate(system, kind, NEW_SIGNER, 3600)
    now = system.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert event(contract, "SignerRotated", receipt) == {
        "previousSigner": operator,
        "newSigner": NEW_SIGNER,
        "previousValidUntil": now + 3600,
    }
    assert contract.functions.signer().call() == NEW_SIGNER
    assert contract.functions.previousSigner().call() == [operator, now + 3600]
    assert contract.functions.isSigner(NEW_SIGNER).call() is True
    assert contract.functions.isSigner(operator).call() is True  # within its grace period


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caller", ["payer", "merchant", "operator"])
def test_rotate_signer_by_anyone_but_the_owner_reverts(system, kind, caller):
    fn = system.contract(kind).functions.rotateSigner(NEW_SIGNER, 0)
    address = system.chain.operator.address if caller == "operator" else getattr(system, caller)
    with reverts("OwnableUnauthorizedAccount", address):
        if caller == "operator":  # the signer itself cannot promote or replace signers
            send_as(fn, system.chain.operator)
        else:
            transact(fn, address)
    assert system.contract(kind).functions.signer().call() == system.chain.operator.address


@pytest.mark.parametrize("kind", KINDS)
def test_rotate_signer_to_zero_address_reverts_zero_address(system, kind):
    with reverts("ZeroAddress"):
        transact(system.contract(kind).functions.rotateSigner("0x" + "00" * 20, 0), system.owner)


@pytest.mark.parametrize("kind", KINDS)
def test_rotate_signer_with_grace_above_the_maximum_reverts_grace_too_long(system, kind):
    contract = system.contract(kind)
    max_grace = contract.functions.MAX_SIGNER_GRACE().call()
    with reverts("GraceTooLong", max_grace + 1, max_grace):
        transact(contract.functions.rotateSigner(NEW_SIGNER, max_grace + 1), system.owner)
    _rotate(system, kind, NEW_SIGNER, max_grace)  # the maximum itself is allowed


@pytest.mark.parametrize("kind", KINDS)
def test_new_signers_intents_are_accepted_after_rotation(system, kind):
    with reverts("InvalidSigner", NEW_SIGNER):
        _use(system, kind, key=NEW_KEY)
    _rotate(system, kind, NEW_SIGNER, 0)
    _use(system, kind, key=NEW_KEY)


@pytest.mark.parametrize("kind", KINDS)
def test_signer_rotated_out_without_grace_is_rejected_at_once(system, kind):
    _rotate(system, kind, NEW_SIGNER, 0)
    assert system.contract(kind).functions.isSigner(system.chain.operator.address).call() is False
    with reverts("InvalidSigner", system.chain.operator.address):
        _use(system, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_signer_rotated_out_with_grace_is_accepted_until_the_grace_ends(system, kind):
    receipt = _rotate(system, kind, NEW_SIGNER, 3600)
    until = system.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] + 3600
    intents = [system.intent(kind, deadline=until + 900) for _ in range(2)]
    signatures = [system.sign(i, kind) for i in intents]  # signed by the old operator key
    total = sum(i.amount for i in intents)
    send(system.usdc.functions.approve(system.contract(kind).address, total), system.payer)
    with next_block_at(system.chain, until - 1):  # last second of the grace period
        send(_use_fn(system, kind, intents[0], signatures[0]), system.payer)
    with next_block_at(system.chain, until), reverts("InvalidSigner", system.chain.operator.address):
        send(_use_fn(system, kind, intents[1], signatures[1]), system.payer)


@pytest.mark.parametrize("kind", KINDS)
def test_a_second_rotation_ends_the_grace_of_the_signer_before(system, kind):
    """Only one previous signer is remembered: rotating again drops the older one's grace at once."""
    _rotate(system, kind, NEW_SIGNER, 86400)
    _use(system, kind)  # the original operator is still in its grace period
    _rotate(system, kind, Account.from_key(THIRD_KEY).address, 86400)
    assert system.contract(kind).functions.isSigner(system.chain.operator.address).call() is False
    with reverts("InvalidSigner", system.chain.operator.address):
        _use(system, kind)
    _use(system, kind, key=NEW_KEY)  # the one rotated out just now has its grace


@pytest.mark.parametrize("kind", KINDS)
def test_zero_address_is_never_a_signer(system, kind):
    assert system.contract(kind).functions.isSigner("0x" + "00" * 20).call() is False
