"""SluicePayments.payWithAuthorization: a gasless ERC-20 payment through the payer's EIP-3009
authorization (DevUSDC implements USDC's `receiveWithAuthorization`), relayed by anyone."""

import pytest

from sluice.chain.authorization import authorization_for_intent, intent_digest, sign_authorization

from helpers import ZERO, account, balances, deltas, event, reverts, send, send_as, shares

pytestmark = pytest.mark.contracts


def _authorize(system, intent, payer=None, contract=None):
    """The payer's (v, r, s) for `intent` on the system's SluicePayments (or `contract`)."""
    payer = payer or system.payer
    auth = authorization_for_intent(
        intent,
        payer=payer,
        chain_id=system.chain.chain_id,
        contract=contract or system.payments.address,
        token_name=system.usdc.functions.name().call(),
        token_version="1",
    )
    return auth, sign_authorization(auth, account(system, payer).key)


def _relay(system, intent, auth, vrs, payer=None):
    fn = system.payments.functions.payWithAuthorization(
        intent.as_tuple(), system.sign(intent), payer or auth.payer, auth.valid_after, auth.valid_before, *vrs
    )
    return send_as(fn, system.chain.relayer)


def test_relayed_authorization_pays_merchant_and_splits_exactly_without_approve(system):
    intent = system.intent(payer=system.payer)
    assert system.usdc.functions.allowance(system.payer, system.payments.address).call() == 0
    parties = (system.payer, system.merchant, system.fee_recipient, system.payments.address)
    native_before = system.balance(None, system.payer)
    before = balances(system, system.usdc, *parties)
    auth, vrs = _authorize(system, intent)

    receipt = _relay(system, intent, auth, vrs)

    merchant_share, fees = shares(intent.amount, intent.splits)
    assert deltas(before, balances(system, system.usdc, *parties)) == [
        -intent.amount,
        merchant_share,
        *fees,
        0,
    ]
    assert system.balance(None, system.payer) == native_before  # the payer paid no gas
    assert event(system.payments, "Paid", receipt)["payer"] == system.payer
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is True
    digest = system.payments.functions.hashIntent(intent.as_tuple()).call()
    assert digest == intent_digest(intent, chain_id=system.chain.chain_id, contract=system.payments.address)
    assert system.usdc.functions.authorizationState(system.payer, digest).call() is True


def test_authorization_cannot_be_redeemed_by_anyone_but_the_contract(system):
    intent = system.intent()
    auth, (v, r, s) = _authorize(system, intent)
    front_run = system.usdc.functions.receiveWithAuthorization(
        system.payer,
        system.payments.address,
        auth.value,
        auth.valid_after,
        auth.valid_before,
        auth.nonce,
        v,
        r,
        s,
    )
    with reverts("CallerMustBePayee", system.other, system.payments.address):
        send(front_run, system.other)


def test_authorization_cannot_pay_another_intent(system):
    """An attacker relaying the authorization with an intent paying itself: the nonce (the intent's
    digest) no longer matches what the payer signed."""
    intent = system.intent()
    auth, vrs = _authorize(system, intent)
    other = system.intent(merchant=system.other, amount=intent.amount)
    with reverts("InvalidAuthorizationSignature", system.payer):
        _relay(system, other, auth, vrs)
    assert system.payments.functions.isNonceUsed(other.nonce).call() is False


def test_authorization_by_another_than_the_intents_payer_reverts_wrong_payer(system):
    intent = system.intent(payer=system.payer)
    auth, vrs = _authorize(system, intent, payer=system.other)
    with reverts("WrongPayer", intent.id, system.payer, system.other):
        _relay(system, intent, auth, vrs)


def test_relaying_an_authorization_twice_reverts_nonce_already_used(system):
    intent = system.intent()
    auth, vrs = _authorize(system, intent)
    _relay(system, intent, auth, vrs)
    with reverts("NonceAlreadyUsed", intent.nonce):
        _relay(system, intent, auth, vrs)


def test_native_intent_cannot_be_paid_with_an_authorization(system):
    intent = system.intent(token=ZERO, amount=10**18)
    fn = system.payments.functions.payWithAuthorization(
        intent.as_tuple(), system.sign(intent), system.payer, 0, 2**40, 27, b"\0" * 32, b"\0" * 32
    )
    with reverts("ZeroAddress"):
        send(fn, system.payer)
