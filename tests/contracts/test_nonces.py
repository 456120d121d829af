"""Nonce bitmap on both contracts: invalidateNonces (cancelling signed intents) and isNonceUsed."""

import pytest

from helpers import deposit, event, open_escrow, pay, reverts, send, send_as
from reverts import transact

pytestmark = pytest.mark.contracts

KINDS = ["payments", "escrow"]


def _use(system, kind, intent):
    return pay(system, intent) if kind == "payments" else deposit(system, intent)


def _word_and_mask(*nonces):
    words = {n >> 8 for n in nonces}
    assert len(words) == 1
    return words.pop(), sum(1 << (n & 0xFF) for n in nonces)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caller", ["owner", "relayer"])
def test_invalidate_nonces_cancels_a_signed_intent(system, kind, caller):
    contract = system.contract(kind)
    intent = system.intent(kind)
    word, mask = _word_and_mask(intent.nonce)
    assert contract.functions.isNonceUsed(intent.nonce).call() is False
    fn = contract.functions.invalidateNonces(word, mask)
    receipt = send_as(fn, system.chain.relayer) if caller == "relayer" else send(fn, system.owner)
    assert event(contract, "NoncesInvalidated", receipt) == {"wordPos": word, "mask": mask}
    assert contract.functions.isNonceUsed(intent.nonce).call() is True
    with reverts("NonceAlreadyUsed", intent.nonce):
        _use(system, kind, intent)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caller", ["payer", "merchant", "other"])
def test_invalidate_nonces_by_anyone_but_the_relayer_or_the_owner_reverts(system, kind, caller):
    address = getattr(system, caller)
    with reverts("NotRelayerOrOwner", address):
        transact(system.contract(kind).functions.invalidateNonces(0, 1), address)


@pytest.mark.parametrize("kind", KINDS)
def test_invalidate_nonces_by_the_intent_signer_reverts(system, kind):
    """The review's design finding: a leaked signing key could cancel every intent handed out."""
    with reverts("NotRelayerOrOwner", system.chain.operator.address):
        send_as(system.contract(kind).functions.invalidateNonces(0, 1), system.chain.operator)


@pytest.mark.parametrize("kind", KINDS)
def test_invalidate_nonces_by_a_replaced_relayer_reverts(system, kind):
    contract = system.contract(kind)
    send_as(contract.functions.invalidateNonces(7, 1), system.chain.relayer)
    send(contract.functions.setRelayer(system.other), system.owner)
    with reverts("NotRelayerOrOwner", system.chain.relayer.address):
        send_as(contract.functions.invalidateNonces(7, 2), system.chain.relayer)
    send(contract.functions.invalidateNonces(7, 4), system.other)
    assert contract.functions.nonceBitmap(7).call() == 5


@pytest.mark.parametrize("kind", KINDS)
def test_one_mask_invalidates_exactly_its_bits_of_one_word(system, kind):
    contract = system.contract(kind)
    targets = [5 * 256 + 0, 5 * 256 + 3, 5 * 256 + 255]
    word, mask = _word_and_mask(*targets)
    send(contract.functions.invalidateNonces(word, mask), system.owner)
    assert contract.functions.nonceBitmap(word).call() == mask
    for nonce in targets:
        assert contract.functions.isNonceUsed(nonce).call() is True
    for nonce in (5 * 256 + 1, 5 * 256 + 254, 4 * 256 + 3, 6 * 256 + 3, 3):
        assert contract.functions.isNonceUsed(nonce).call() is False


@pytest.mark.parametrize("kind", KINDS)
def test_invalidations_accumulate_and_never_free_a_nonce(system, kind):
    contract = system.contract(kind)
    send(contract.functions.invalidateNonces(2, 0b0101), system.owner)
    send(contract.functions.invalidateNonces(2, 0b0010), system.owner)
    send(contract.functions.invalidateNonces(2, 0), system.owner)
    assert contract.functions.nonceBitmap(2).call() == 0b0111


def test_used_nonce_cannot_be_freed_by_invalidating_it_again(system):
    intent = system.intent()
    pay(system, intent)
    word, mask = _word_and_mask(intent.nonce)
    send(system.payments.functions.invalidateNonces(word, mask), system.owner)
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is True
    with reverts("NonceAlreadyUsed", intent.nonce):
        pay(system, system.intent(nonce=intent.nonce))


def test_nonces_are_separate_per_contract(system):
    paid = system.intent()
    pay(system, paid)
    assert system.payments.functions.isNonceUsed(paid.nonce).call() is True
    assert system.escrow.functions.isNonceUsed(paid.nonce).call() is False
    escrowed = open_escrow(system, nonce=paid.nonce)  # the same nonce is still free on the escrow
    assert system.escrow.functions.isNonceUsed(escrowed.nonce).call() is True


@pytest.mark.parametrize("nonce", [2**256 - 1, 2**255, 256])
def test_any_uint256_nonce_is_usable_once(system, nonce):
    intent = system.intent(nonce=nonce)
    pay(system, intent)
    assert system.payments.functions.isNonceUsed(nonce).call() is True
    assert system.payments.functions.nonceBitmap(nonce >> 8).call() == 1 << (nonce & 0xFF)
    assert system.payments.functions.isNonceUsed(nonce - 1).call() is False


def test_cancelling_the_nonce_of_an_open_escrow_does_not_stop_it(system):
    """Invalidating a nonce only blocks a first use: an escrow already opened with it stays open for
    further partial deposits and captures (close it with void instead)."""
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    deposit(system, intent, 400_000)
    word, mask = _word_and_mask(intent.nonce)
    send_as(system.escrow.functions.invalidateNonces(word, mask), system.chain.relayer)
    deposit(system, intent, 600_000)
    send(system.escrow.functions.capture(intent.as_tuple(), 1_000_000), system.merchant)
