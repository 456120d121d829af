"""SluicePayments.payWithPermit: an EIP-2612 permit replaces the approve; a failed permit is ignored
so that the allowance decides (a front-run permit must not block the payment)."""

import pytest

from sluice.chain.intents import ZERO_ADDRESS

from helpers import account, balances, deltas, event, reverts, send, shares, sign_permit
from reverts import transact

pytestmark = pytest.mark.contracts


def _permit(system, intent, *, deadline=None, value=None):
    owner = account(system, system.payer)
    deadline = intent.deadline if deadline is None else deadline
    value = intent.amount if value is None else value
    v, r, s = sign_permit(system, system.usdc, owner, system.payments.address, value, deadline)
    return deadline, v, r, s


def _pay_with_permit_fn(system, intent, permit):
    return system.payments.functions.payWithPermit(intent.as_tuple(), system.sign(intent), *permit)


def test_pay_with_permit_pays_without_a_prior_approve(system):
    intent = system.intent()
    assert system.usdc.functions.allowance(system.payer, system.payments.address).call() == 0
    token_nonce = system.usdc.functions.nonces(system.payer).call()
    parties = (system.payer, system.merchant, system.fee_recipient)
    before = balances(system, system.usdc, *parties)

    receipt = send(_pay_with_permit_fn(system, intent, _permit(system, intent)), system.payer)

    merchant_share, fees = shares(intent.amount, intent.splits)
    assert deltas(before, balances(system, system.usdc, *parties)) == [-intent.amount, merchant_share, *fees]
    assert system.usdc.functions.nonces(system.payer).call() == token_nonce + 1  # the permit was used
    assert system.usdc.functions.allowance(system.payer, system.payments.address).call() == 0
    paid = event(system.payments, "Paid", receipt)
    assert (paid["intentId"], paid["payer"], paid["amount"]) == (intent.id, system.payer, intent.amount)


def test_pay_with_permit_succeeds_when_the_permit_was_front_run(system):
    """Someone submits the payer's permit first (it is public in the mempool): the payment's own permit
    call then fails on the used token nonce, is ignored, and the allowance it set pays."""
    intent = system.intent()
    permit = _permit(system, intent)
    deadline, v, r, s = permit
    fn = system.usdc.functions.permit(system.payer, system.payments.address, intent.amount, deadline, v, r, s)
    send(fn, system.other)
    assert system.usdc.functions.allowance(system.payer, system.payments.address).call() == intent.amount
    with reverts("ERC2612InvalidSigner"):  # the permit cannot be used twice
        transact(fn, system.other)
    before = system.balance(system.usdc, system.payer)

    send(_pay_with_permit_fn(system, intent, permit), system.payer)

    assert before - system.balance(system.usdc, system.payer) == intent.amount
    assert system.usdc.functions.allowance(system.payer, system.payments.address).call() == 0
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is True


def test_pay_with_invalid_permit_uses_an_existing_allowance(system):
    intent = system.intent()
    send(system.usdc.functions.approve(system.payments.address, intent.amount), system.payer)
    garbage = (intent.deadline, 27, b"\x01" * 32, b"\x02" * 32)
    before = system.balance(system.usdc, system.merchant)
    send(_pay_with_permit_fn(system, intent, garbage), system.payer)
    assert system.balance(system.usdc, system.merchant) - before == shares(intent.amount, intent.splits)[0]


def test_pay_with_permit_on_a_token_without_permit_uses_an_existing_allowance(system):
    intent = system.intent(token=system.usdt.address)  # DevUSDT has no permit function at all
    send(system.usdt.functions.approve(system.payments.address, intent.amount), system.payer)
    before = system.balance(system.usdt, system.payer)
    send(_pay_with_permit_fn(system, intent, (intent.deadline, 27, b"\x01" * 32, b"\x02" * 32)), system.payer)
    assert before - system.balance(system.usdt, system.payer) == intent.amount


def test_pay_with_expired_permit_and_no_allowance_reverts_with_the_token_error(system):
    intent = system.intent()
    permit = _permit(system, intent, deadline=system.chain.now() - 1)
    merchant_share, _ = shares(intent.amount, intent.splits)
    with reverts("ERC20InsufficientAllowance", system.payments.address, 0, merchant_share):
        transact(_pay_with_permit_fn(system, intent, permit), system.payer)


def test_pay_with_permit_for_less_than_the_amount_reverts_with_the_token_error(system):
    intent = system.intent()
    # A permit for a smaller value does not verify (the contract permits intent.amount): ignored.
    permit = _permit(system, intent, value=intent.amount - 1)
    with reverts("ERC20InsufficientAllowance"):
        transact(_pay_with_permit_fn(system, intent, permit), system.payer)
    assert system.usdc.functions.allowance(system.payer, system.payments.address).call() == 0


def test_pay_with_permit_by_another_account_cannot_use_the_payers_permit(system):
    """The permit is applied for msg.sender only: another account replaying it gains no allowance."""
    intent = system.intent()
    permit = _permit(system, intent)
    with reverts("ERC20InsufficientAllowance"):
        transact(_pay_with_permit_fn(system, intent, permit), system.other)
    assert system.usdc.functions.allowance(system.payer, system.payments.address).call() == 0


def test_pay_with_permit_checks_the_intent_and_keeps_the_permit_unused_on_failure(system):
    intent = system.intent(payer=system.other)
    token_nonce = system.usdc.functions.nonces(system.payer).call()
    with reverts("WrongPayer", intent.id, system.other, system.payer):
        transact(_pay_with_permit_fn(system, intent, _permit(system, intent)), system.payer)
    assert system.usdc.functions.nonces(system.payer).call() == token_nonce


def test_pay_with_permit_reverts_when_paused(system):
    intent = system.intent()
    send(system.payments.functions.pause(), system.owner)
    with reverts("EnforcedPause"):
        transact(_pay_with_permit_fn(system, intent, _permit(system, intent)), system.payer)


def test_pay_with_permit_for_the_native_coin_reverts_zero_address(system):
    intent = system.intent(token=ZERO_ADDRESS, amount=10**18)
    with reverts("ZeroAddress"):
        transact(
            system.payments.functions.payWithPermit(
                intent.as_tuple(), system.sign(intent), intent.deadline, 27, b"\x01" * 32, b"\x02" * 32
            ),
            system.payer,
        )
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is False
