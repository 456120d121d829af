import pytest

from sluice.chain.intents import INTENT_TYPEHASH

from reverts import reverts, transact

pytestmark = pytest.mark.contracts


def test_intent_typehash_matches_python(system):
    assert system.payments.functions.INTENT_TYPEHASH().call() == INTENT_TYPEHASH
    assert system.escrow.functions.INTENT_TYPEHASH().call() == INTENT_TYPEHASH


def test_erc20_pay_splits_fee_exactly(system):
    intent = system.intent()
    sig = system.sign(intent)
    transact(system.usdc.functions.approve(system.payments.address, intent.amount), system.payer)
    before_m = system.balance(system.usdc, system.merchant)
    before_f = system.balance(system.usdc, system.fee_recipient)
    transact(system.payments.functions.pay(intent.as_tuple(), sig), system.payer)
    assert system.balance(system.usdc, system.merchant) - before_m == 24_750_000
    assert system.balance(system.usdc, system.fee_recipient) - before_f == 250_000


def test_pay_without_allowance_reverts_with_token_error(system):
    intent = system.intent()
    with reverts("ERC20InsufficientAllowance") as r:
        system.payments.functions.pay(intent.as_tuple(), system.sign(intent)).transact({"from": system.payer})
    assert r.args[2] == 24_750_000  # the first transfer (to the merchant) needs the allowance
