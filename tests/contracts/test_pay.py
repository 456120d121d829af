"""SluicePayments.pay: who receives exactly what, and the Paid event."""

import pytest

from sluice.chain.intents import Split

from helpers import ZERO, balances, deltas, event, gas_cost, next_block_at, pay, reverts, send, shares

pytestmark = pytest.mark.contracts


@pytest.mark.parametrize("token_name", ["usdc", "usdt"])
def test_pay_erc20_moves_exact_shares_from_payer_to_merchant_and_fee_recipient(system, token_name):
    token = getattr(system, token_name)
    intent = system.intent(token=token.address)
    merchant_share, fees = shares(intent.amount, intent.splits)
    parties = (system.payer, system.merchant, system.fee_recipient, system.payments.address)
    before = balances(system, token, *parties)

    pay(system, intent)

    assert deltas(before, balances(system, token, *parties)) == [-intent.amount, merchant_share, fees[0], 0]
    assert token.functions.allowance(system.payer, system.payments.address).call() == 0


def test_pay_without_splits_gives_merchant_everything(system):
    intent = system.intent(splits=())
    parties = (system.payer, system.merchant, system.fee_recipient)
    before = balances(system, system.usdc, *parties)
    receipt = pay(system, intent)
    assert deltas(before, balances(system, system.usdc, *parties)) == [-intent.amount, intent.amount, 0]
    assert event(system.payments, "Paid", receipt)["feeAmounts"] == []


def test_pay_with_three_splits_rounds_each_split_down_and_gives_the_remainder_to_merchant(system):
    a, b, c = system.fee_recipient, system.other, system.owner
    splits = (Split(a, 333), Split(b, 1234), Split(c, 7))
    amount = 1_000_003  # not a multiple of 10,000: every split has a fractional part that is dropped
    assert all(amount * s.bps % 10_000 for s in splits)
    intent = system.intent(amount=amount, splits=splits)
    parties = (system.payer, system.merchant, a, b, c)
    before = balances(system, system.usdc, *parties)

    pay(system, intent)

    got = deltas(before, balances(system, system.usdc, *parties))
    fees = [amount * s.bps // 10_000 for s in splits]
    assert got[2:] == fees
    assert got[1] == amount - sum(fees)
    # The merchant gets more than its nominal share: the rounding dust of every split goes to it.
    assert got[1] * 10_000 > amount * (10_000 - sum(s.bps for s in splits))
    assert got[0] == -amount


def test_pay_with_splits_totalling_exactly_max_fee_succeeds(system):
    splits = tuple(Split(r, bps) for r, bps in ((system.fee_recipient, 1000), (system.other, 2000)))
    assert sum(s.bps for s in splits) == system.payments.functions.maxFeeBps().call()
    intent = system.intent(splits=splits)
    before = balances(system, system.usdc, system.merchant, system.fee_recipient, system.other)
    pay(system, intent)
    merchant_share, fees = shares(intent.amount, splits)
    after = balances(system, system.usdc, system.merchant, system.fee_recipient, system.other)
    assert deltas(before, after) == [merchant_share, *fees]


def test_pay_with_five_splits_pays_all_five(system):
    recipients = [a.address for a in system.chain.accounts[5:10]]
    splits = tuple(Split(r, 100 * (i + 1)) for i, r in enumerate(recipients))
    intent = system.intent(splits=splits)
    before = balances(system, system.usdc, system.merchant, *recipients)
    receipt = pay(system, intent)
    merchant_share, fees = shares(intent.amount, splits)
    assert deltas(before, balances(system, system.usdc, system.merchant, *recipients)) == [
        merchant_share,
        *fees,
    ]
    assert event(system.payments, "Paid", receipt)["feeAmounts"] == fees


def test_pay_native_coin_forwards_exact_value_and_keeps_nothing(system):
    intent = system.intent(token=ZERO, amount=10**18 + 7)
    merchant_share, fees = shares(intent.amount, intent.splits)
    parties = (system.payer, system.merchant, system.fee_recipient, system.payments.address)
    before = balances(system, None, *parties)

    receipt = pay(system, intent)

    got = deltas(before, balances(system, None, *parties))
    assert got == [-intent.amount - gas_cost(receipt), merchant_share, fees[0], 0]


def test_paid_event_reports_intent_payer_merchant_token_and_amounts(system):
    splits = (Split(system.fee_recipient, 150), Split(system.other, 275))
    intent = system.intent(amount=12_345_679, splits=splits)
    receipt = pay(system, intent)
    merchant_share, fees = shares(intent.amount, splits)

    paid = event(system.payments, "Paid", receipt)
    assert paid["intentId"] == intent.id
    assert paid["payer"] == system.payer
    assert paid["merchant"] == system.merchant
    assert paid["token"] == system.usdc.address
    assert paid["amount"] == intent.amount
    assert paid["merchantAmount"] == merchant_share
    assert paid["feeAmounts"] == fees  # in split order


def test_paid_event_for_native_coin_reports_zero_token(system):
    intent = system.intent(token=ZERO, amount=5 * 10**17)
    paid = event(system.payments, "Paid", pay(system, intent))
    assert paid["token"] == ZERO
    assert paid["amount"] == intent.amount


def test_pay_marks_the_nonce_used(system):
    intent = system.intent()
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is False
    pay(system, intent)
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is True


def test_pay_of_open_intent_by_any_account_records_that_account_as_payer(system):
    intent = system.intent()  # payer = zero address: anyone may pay
    before = system.balance(system.usdc, system.other)
    receipt = pay(system, intent, sender=system.other)
    assert system.balance(system.usdc, system.other) - before == -intent.amount
    assert event(system.payments, "Paid", receipt)["payer"] == system.other


def test_pay_of_payer_bound_intent_by_its_payer_succeeds(system):
    intent = system.intent(payer=system.payer)
    receipt = pay(system, intent)
    assert event(system.payments, "Paid", receipt)["payer"] == system.payer


def test_pay_succeeds_in_the_block_at_the_exact_deadline(system):
    intent = system.intent()
    send(system.usdc.functions.approve(system.payments.address, intent.amount), system.payer)
    with next_block_at(system.chain, intent.deadline):
        receipt = send(system.payments.functions.pay(intent.as_tuple(), system.sign(intent)), system.payer)
    assert system.chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"] == intent.deadline
    assert event(system.payments, "Paid", receipt)["intentId"] == intent.id


def test_pay_native_to_merchant_that_refuses_the_coin_reverts_native_transfer_failed(system):
    refuser = system.usdt.address  # a contract with neither receive nor fallback
    intent = system.intent(token=ZERO, amount=10**18, merchant=refuser)
    merchant_share, _ = shares(intent.amount, intent.splits)
    with reverts("NativeTransferFailed", refuser, merchant_share):
        pay(system, intent)
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is False


def test_pay_where_the_merchant_itself_pays_reverts_as_transfer_shortfall(system):
    """Surprising but safe: a self-transfer leaves the merchant's balance unchanged, which the
    balance-delta check meant for fee-on-transfer tokens reads as "received 0"."""
    intent = system.intent()
    merchant_share, _ = shares(intent.amount, intent.splits)
    with reverts("TransferShortfall", system.usdc.address, system.merchant, merchant_share, 0):
        pay(system, intent, sender=system.merchant)
