"""SluiceDeposits: counterfactual deposit addresses, batch sweeps, refunds and rescues, on both
backends with the compiled contracts; the Python derivation checked against the factory's views."""

from __future__ import annotations

import os
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from sluice.chain.intents import Split
from sluice.deposits import (
    DepositTerms,
    deposit_address_at,
    deposit_salt,
    forwarder_code_hash,
    refund_calldata,
    refund_typed_data,
    rescue_calldata,
    sweep_calldata,
)

from factories import System
from helpers import account, event, events, reverts, send, send_as, shares

AMOUNT = 25_000_000


@pytest.fixture(autouse=True)
def _anvil_only(system: System) -> None:
    # py-evm cannot revert a snapshot across two deletions of the same account (a deposit address
    # swept twice: "This revert has changed the clear count"), so these run on anvil only.
    if system.chain.kind != "anvil":
        pytest.skip("deposit sweeps delete and recreate accounts; py-evm's snapshots cannot undo that")


def terms_for(system: System, **overrides: Any) -> DepositTerms:
    fields: dict[str, Any] = {
        "id": os.urandom(32),
        "chain_id": system.chain.chain_id,
        "merchant": system.merchant,
        "token": system.usdc.address,
        "amount": AMOUNT,
        "splits": (Split(system.fee_recipient, 100),),
    }
    fields.update(overrides)
    return DepositTerms(**fields)


def address_of(system: System, terms: DepositTerms) -> str:
    return deposit_address_at(system.deposits.address, terms)


def transact(system: System, data: bytes, sender: str) -> dict[str, Any]:
    w3 = system.chain.w3
    tx = w3.eth.send_transaction(
        {"from": sender, "to": system.deposits.address, "data": data, "gas": 8_000_000}
    )
    receipt = dict(w3.eth.wait_for_transaction_receipt(tx))
    assert receipt["status"] == 1, receipt
    return receipt


def test_python_derivation_matches_the_factory_views(system: System) -> None:
    for terms in (
        terms_for(system),
        terms_for(system, token=None, amount=10**18, splits=()),
        terms_for(system, splits=(Split(system.fee_recipient, 100), Split(system.other, 250))),
    ):
        assert system.deposits.functions.depositSalt(terms.as_abi()).call() == deposit_salt(
            system.deposits.address, terms
        )
        assert system.deposits.functions.depositAddress(terms.as_abi()).call() == address_of(system, terms)
    assert system.deposits.functions.FORWARDER_CODE_HASH().call() == forwarder_code_hash()


def test_every_term_changes_the_address(system: System) -> None:
    base = terms_for(system)
    variants = [
        terms_for(system, id=base.id, amount=AMOUNT + 1),
        terms_for(system, id=base.id, merchant=system.other),
        terms_for(system, id=base.id, token=system.usdt.address),
        terms_for(system, id=base.id, chain_id=base.chain_id + 1),
        terms_for(system, id=base.id, splits=(Split(system.fee_recipient, 101),)),
        terms_for(system, id=base.id, splits=(Split(system.other, 100),)),
        terms_for(system),  # another intent id
    ]
    addresses = {address_of(system, t) for t in [base, *variants]}
    assert len(addresses) == len(variants) + 1
    assert deposit_address_at(system.payments.address, base) != address_of(system, base)  # the factory


def test_plain_transfer_then_anyone_sweeps_to_merchant_and_fee(system: System) -> None:
    terms = terms_for(system)
    deposit = address_of(system, terms)
    send(system.usdc.functions.transfer(deposit, AMOUNT), system.payer)
    merchant_before = system.balance(system.usdc, system.merchant)
    fee_before = system.balance(system.usdc, system.fee_recipient)
    receipt = transact(system, sweep_calldata([terms]), system.other)  # a stranger triggers it
    merchant_amount, fees = shares(AMOUNT, terms.splits)
    assert system.balance(system.usdc, system.merchant) - merchant_before == merchant_amount
    assert system.balance(system.usdc, system.fee_recipient) - fee_before == fees[0]
    assert system.balance(system.usdc, deposit) == 0
    assert system.chain.w3.eth.get_code(deposit) == b""  # deleted in the creating transaction
    swept = event(system.deposits, "Swept", receipt)
    assert (swept["intentId"], swept["deposit"], swept["amount"]) == (terms.id, deposit, AMOUNT)


def test_native_coin_sweep_pays_fee_and_merchant(system: System) -> None:
    terms = terms_for(system, token=None, amount=10**18)
    deposit = address_of(system, terms)
    w3 = system.chain.w3
    w3.eth.send_transaction({"from": system.payer, "to": deposit, "value": 10**18})
    before = [system.balance(None, system.merchant), system.balance(None, system.fee_recipient)]
    transact(system, sweep_calldata([terms]), system.other)
    after = [system.balance(None, system.merchant), system.balance(None, system.fee_recipient)]
    merchant_amount, fees = shares(10**18, terms.splits)
    assert [a - b for a, b in zip(after, before, strict=True)] == [merchant_amount, fees[0]]
    assert system.balance(None, deposit) == 0


def test_batch_sweeps_many_and_skips_the_unpaid(system: System) -> None:
    paid = [terms_for(system) for _ in range(5)]
    short = terms_for(system)
    for t in paid:
        send(system.usdc.functions.transfer(address_of(system, t), AMOUNT), system.payer)
    send(system.usdc.functions.transfer(address_of(system, short), AMOUNT - 1), system.payer)
    receipt = transact(system, sweep_calldata([*paid, short]), system.other)
    assert {e["intentId"] for e in events(system.deposits, "Swept", receipt)} == {t.id for t in paid}
    skipped = event(system.deposits, "SweepSkipped", receipt)
    assert (skipped["intentId"], skipped["balance"]) == (short.id, AMOUNT - 1)
    assert system.balance(system.usdc, address_of(system, short)) == AMOUNT - 1


def test_one_batch_sweeps_erc20_and_native_addresses_together(system: System) -> None:
    token_terms = terms_for(system)
    native_terms = terms_for(system, token=None, amount=10**17)
    send(system.usdc.functions.transfer(address_of(system, token_terms), AMOUNT), system.payer)
    system.chain.w3.eth.send_transaction(
        {"from": system.payer, "to": address_of(system, native_terms), "value": 10**17}
    )
    receipt = transact(system, sweep_calldata([token_terms, native_terms]), system.other)
    assert {e["intentId"] for e in events(system.deposits, "Swept", receipt)} == {
        token_terms.id,
        native_terms.id,
    }
    assert system.balance(system.usdc, address_of(system, token_terms)) == 0
    assert system.balance(None, address_of(system, native_terms)) == 0


def test_a_second_sweep_of_the_same_funds_moves_nothing(system: System) -> None:
    terms = terms_for(system)
    send(system.usdc.functions.transfer(address_of(system, terms), AMOUNT), system.payer)
    transact(system, sweep_calldata([terms]), system.other)
    before = system.balance(system.usdc, system.merchant)
    receipt = transact(system, sweep_calldata([terms]), system.other)
    assert events(system.deposits, "Swept", receipt) == []
    assert system.balance(system.usdc, system.merchant) == before


def test_a_later_payment_to_a_swept_address_can_be_swept_again(system: System) -> None:
    terms = terms_for(system)
    deposit = address_of(system, terms)
    send(system.usdc.functions.transfer(deposit, AMOUNT), system.payer)
    transact(system, sweep_calldata([terms]), system.other)
    send(system.usdc.functions.transfer(deposit, AMOUNT), system.payer)
    receipt = transact(system, sweep_calldata([terms]), system.other)
    assert len(events(system.deposits, "Swept", receipt)) == 1
    assert system.balance(system.usdc, deposit) == 0


def test_over_payment_stays_at_the_address_after_the_sweep(system: System) -> None:
    terms = terms_for(system)
    deposit = address_of(system, terms)
    send(system.usdc.functions.transfer(deposit, AMOUNT + 7), system.payer)
    transact(system, sweep_calldata([terms]), system.other)
    assert system.balance(system.usdc, deposit) == 7


def test_usdt_without_return_values_sweeps(system: System) -> None:
    terms = terms_for(system, token=system.usdt.address)
    deposit = address_of(system, terms)
    send(system.usdt.functions.transfer(deposit, AMOUNT), system.payer)
    transact(system, sweep_calldata([terms]), system.other)
    assert system.balance(system.usdt, deposit) == 0


def test_sweep_of_terms_for_another_chain_reverts(system: System) -> None:
    terms = terms_for(system, chain_id=system.chain.chain_id + 1)
    with reverts("WrongChain", terms.id, terms.chain_id):
        send(system.deposits.functions.sweep([terms.as_abi()]), system.other)


def test_sweep_of_terms_above_the_fee_bound_reverts(system: System) -> None:
    terms = terms_for(system, splits=(Split(system.fee_recipient, 3001),))
    with reverts("FeeTooHigh", 3001, 3000):
        send(system.deposits.functions.sweep([terms.as_abi()]), system.other)


# ------------------------------------------------------------------------------------------ rescue


def test_merchant_rescues_a_token_the_intent_did_not_ask_for(system: System) -> None:
    terms = terms_for(system)
    deposit = address_of(system, terms)
    send(system.usdt.functions.transfer(deposit, 5_000_000), system.payer)
    before = system.balance(system.usdt, system.merchant)
    receipt = transact(system, rescue_calldata(terms, system.usdt.address), system.merchant)
    assert system.balance(system.usdt, system.merchant) - before == 5_000_000
    assert event(system.deposits, "Rescued", receipt)["amount"] == 5_000_000


def test_rescue_by_anyone_but_the_merchant_reverts(system: System) -> None:
    terms = terms_for(system)
    with reverts("NotMerchant", system.other, system.merchant):
        send(system.deposits.functions.rescue(terms.as_abi(), system.usdt.address), system.other)


def test_rescue_of_the_intents_own_token_reverts(system: System) -> None:
    terms = terms_for(system)
    with reverts("NotRescuable", system.usdc.address):
        send(system.deposits.functions.rescue(terms.as_abi(), system.usdc.address), system.merchant)


def test_native_coin_sent_to_a_token_address_is_rescued_to_the_merchant(system: System) -> None:
    terms = terms_for(system)
    deposit = address_of(system, terms)
    w3 = system.chain.w3
    w3.eth.send_transaction({"from": system.payer, "to": deposit, "value": 10**17})
    receipt = transact(system, rescue_calldata(terms, None), system.merchant)
    assert system.balance(None, deposit) == 0
    assert event(system.deposits, "Rescued", receipt)["amount"] == 10**17


# ------------------------------------------------------------------------------------------ refund


def merchant_signature(system: System, terms: DepositTerms, to: str, amount: int, deadline: int) -> bytes:
    data = refund_typed_data(system.deposits.address, terms, terms.token, to, amount, deadline)
    signed = Account.sign_message(encode_typed_data(full_message=data), account(system, system.merchant).key)
    return bytes(signed.signature)


def test_relayer_refunds_an_over_payment_where_the_merchant_signed(system: System) -> None:
    terms = terms_for(system)
    deposit = address_of(system, terms)
    send(system.usdc.functions.transfer(deposit, AMOUNT + 9), system.payer)
    transact(system, sweep_calldata([terms]), system.other)
    deadline = system.chain.now() + 3600
    signature = merchant_signature(system, terms, system.other, 9, deadline)
    before = system.balance(system.usdc, system.other)
    fn = system.deposits.functions.refund(
        terms.as_abi(), system.usdc.address, system.other, 9, deadline, signature
    )
    receipt = send_as(fn, system.chain.relayer)
    assert system.balance(system.usdc, system.other) - before == 9
    assert event(system.deposits, "Refunded", receipt)["to"] == system.other
    # The same authorization cannot be used twice.
    send(system.usdc.functions.transfer(deposit, 9), system.payer)
    with reverts("RefundAlreadyUsed"):
        send_as(fn, system.chain.relayer)
    built = refund_calldata(terms, system.usdc.address, system.other, 9, deadline, signature)
    assert built.to_0x_hex() == fn._encode_transaction_data()


def test_refund_sent_by_anyone_but_the_relayer_reverts(system: System) -> None:
    terms = terms_for(system)
    deadline = system.chain.now() + 3600
    signature = merchant_signature(system, terms, system.other, 9, deadline)
    fn = system.deposits.functions.refund(
        terms.as_abi(), system.usdc.address, system.other, 9, deadline, signature
    )
    with reverts("NotRelayer", system.merchant):
        send(fn, system.merchant)


def test_refund_to_an_address_the_merchant_did_not_sign_reverts(system: System) -> None:
    terms = terms_for(system)
    deadline = system.chain.now() + 3600
    signature = merchant_signature(system, terms, system.other, 9, deadline)
    fn = system.deposits.functions.refund(
        terms.as_abi(), system.usdc.address, system.chain.relayer.address, 9, deadline, signature
    )
    with reverts("InvalidMerchantSignature", system.merchant):
        send_as(fn, system.chain.relayer)


# ------------------------------------------------------------------------- the rejected design


def test_a_forwarder_that_keeps_its_account_strands_a_later_payment(system: System) -> None:
    """Why SluiceDeposits' forwarder self-destructs (docs/contracts.md): without it the account keeps
    nonce 1 after the first sweep, CREATE2 can never run there again, and a second payment is stuck."""
    keep = system.chain.deploy(
        "SluiceDepositsKeep", system.owner, system.chain.operator.address, system.chain.relayer.address, 3000
    )
    terms = terms_for(system)
    deposit = keep.functions.depositAddress(terms.as_abi()).call()
    send(system.usdc.functions.transfer(deposit, AMOUNT), system.payer)
    assert len(events(keep, "Swept", send(keep.functions.sweep([terms.as_abi()]), system.other))) == 1
    send(system.usdc.functions.transfer(deposit, AMOUNT), system.payer)
    receipt = send(keep.functions.sweep([terms.as_abi()]), system.other)
    assert events(keep, "Swept", receipt) == []
    assert event(keep, "SweepSkipped", receipt)["balance"] == AMOUNT
    assert system.balance(system.usdc, deposit) == AMOUNT  # stranded for good
