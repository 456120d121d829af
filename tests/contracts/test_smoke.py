import pytest

from sluice.chain.intents import INTENT_TYPEHASH

pytestmark = pytest.mark.contracts


def test_intent_typehash_matches_python(system):
    assert system.payments.functions.INTENT_TYPEHASH().call() == INTENT_TYPEHASH
    assert system.escrow.functions.INTENT_TYPEHASH().call() == INTENT_TYPEHASH


def test_erc20_pay_splits_fee_exactly(system):
    intent = system.intent()
    sig = system.sign(intent)
    system.usdc.functions.approve(system.payments.address, intent.amount).transact({"from": system.payer})
    before_m = system.balance(system.usdc, system.merchant)
    before_f = system.balance(system.usdc, system.fee_recipient)
    system.payments.functions.pay(intent.as_tuple(), sig).transact({"from": system.payer})
    assert system.balance(system.usdc, system.merchant) - before_m == 24_750_000
    assert system.balance(system.usdc, system.fee_recipient) - before_f == 250_000
