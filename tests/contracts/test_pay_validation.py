"""SluicePayments.pay: every intent and call check, and that a rejected payment changes nothing."""

import pytest

from sluice.chain.intents import Split

from helpers import ZERO, balances, next_block_at, pay, reverts, send
from reverts import transact

pytestmark = pytest.mark.contracts


def _pay_fn(system, intent):
    return system.payments.functions.pay(intent.as_tuple(), system.sign(intent))


def test_pay_reverts_when_deadline_passed(system):
    intent = system.intent()
    with (
        next_block_at(system.chain, intent.deadline + 1),
        reverts("IntentExpired", intent.id, intent.deadline, intent.deadline + 1),
    ):
        send(_pay_fn(system, intent), system.payer)


def test_pay_reverts_long_after_deadline(system):
    intent = system.intent()
    system.chain.time_travel(3600)
    with reverts("IntentExpired") as r:
        pay(system, intent)
    assert r.args[:2] == (intent.id, intent.deadline)
    assert r.args[2] > intent.deadline


def test_pay_reverts_for_payer_bound_intent_sent_by_another_account(system):
    intent = system.intent(payer=system.payer)
    with reverts("WrongPayer", intent.id, system.payer, system.other):
        pay(system, intent, sender=system.other)


def test_pay_reverts_when_splits_exceed_max_fee(system):
    splits = (Split(system.fee_recipient, 2000), Split(system.other, 1001))
    intent = system.intent(splits=splits)
    max_fee = system.payments.functions.maxFeeBps().call()
    with reverts("FeeTooHigh", 3001, max_fee):
        transact(_pay_fn(system, intent), system.payer)


def test_pay_reverts_with_more_than_five_splits(system):
    splits = tuple(Split(system.fee_recipient, 10) for _ in range(6))
    intent = system.intent(splits=splits)
    with reverts("TooManySplits", 6, system.payments.functions.MAX_SPLITS().call()):
        transact(_pay_fn(system, intent), system.payer)


def test_pay_reverts_on_zero_amount(system):
    intent = system.intent(amount=0)
    with reverts("ZeroAmount"):
        transact(_pay_fn(system, intent), system.payer)


def test_pay_native_reverts_on_zero_amount(system):
    intent = system.intent(token=ZERO, amount=0)
    with reverts("ZeroAmount"):
        transact(_pay_fn(system, intent), system.payer)


def test_pay_reverts_when_merchant_is_zero_address(system):
    intent = system.intent(merchant=ZERO)
    with reverts("ZeroAddress"):
        transact(_pay_fn(system, intent), system.payer)


def test_pay_reverts_when_a_split_recipient_is_zero_address(system):
    intent = system.intent(splits=(Split(system.fee_recipient, 100), Split(ZERO, 50)))
    with reverts("ZeroAddress"):
        transact(_pay_fn(system, intent), system.payer)


@pytest.mark.parametrize("difference", [-1, +1, None], ids=["less", "more", "nothing"])
def test_pay_native_reverts_when_value_differs_from_amount(system, difference):
    intent = system.intent(token=ZERO, amount=10**18)
    sent = 0 if difference is None else intent.amount + difference
    with reverts("WrongValue", intent.amount, sent):
        transact(_pay_fn(system, intent), system.payer, sent)


def test_pay_erc20_reverts_when_native_value_is_sent_along(system):
    intent = system.intent()
    send(system.usdc.functions.approve(system.payments.address, intent.amount), system.payer)
    with reverts("WrongValue", 0, 1):
        transact(_pay_fn(system, intent), system.payer, 1)


@pytest.mark.parametrize(
    "escrow_fields",
    [{"reclaim_after": 1}, {"allow_partial": True}],
    ids=["reclaim_after", "allow_partial"],
)
def test_pay_reverts_for_escrow_only_intent(system, escrow_fields):
    intent = system.intent(**escrow_fields)
    with reverts("EscrowOnlyIntent", intent.id):
        pay(system, intent)


def test_pay_reverts_when_paused_and_succeeds_after_unpause(system):
    intent = system.intent()
    send(system.usdc.functions.approve(system.payments.address, intent.amount), system.payer)
    send(system.payments.functions.pause(), system.owner)
    with reverts("EnforcedPause"):
        transact(_pay_fn(system, intent), system.payer)
    send(system.payments.functions.unpause(), system.owner)
    before = system.balance(system.usdc, system.payer)
    send(_pay_fn(system, intent), system.payer)
    assert before - system.balance(system.usdc, system.payer) == intent.amount


def test_rejected_payment_moves_nothing_and_leaves_the_intent_payable(system):
    intent = system.intent(token=ZERO, amount=10**18)
    parties = (system.merchant, system.fee_recipient, system.payments.address)
    before = balances(system, None, *parties)
    with reverts("WrongValue"):
        pay(system, intent, value=intent.amount - 1)
    assert balances(system, None, *parties) == before
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is False
    pay(system, intent)  # the same signed intent still works once paid correctly
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is True


def test_pay_reverts_with_token_error_when_payer_balance_is_too_small(system):
    poor = system.chain.accounts[6].address  # holds no dev tokens
    intent = system.intent(splits=())
    with reverts("ERC20InsufficientBalance", poor, 0, intent.amount):
        pay(system, intent, sender=poor)
