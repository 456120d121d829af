"""Refund and rescue transactions built by sluice.deposits.transactions, sent on anvil."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from sweep_env import AMOUNT, RELAYER, paid_intents

from sluice.chain.relayer import RelayerNonceManager
from sluice.deposits import refund_typed_data
from sluice.deposits.transactions import build_refund, build_rescue
from sluice.errors import TransactionRevertedError

from chains import ANVIL_KEYS
from indexer_env import ACCOUNTS, MERCHANT, PAYER

pytestmark = [pytest.mark.db, pytest.mark.chain]

MERCHANT_KEY = ANVIL_KEYS[ACCOUNTS.index(MERCHANT)]
CUSTOMER = ACCOUNTS[6]


def sign_refund(env, terms, to: str, amount: int, deadline: int, key: str = MERCHANT_KEY) -> bytes:
    data = refund_typed_data(env.deposits.address, terms, terms.token, to, amount, deadline)
    return bytes(Account.sign_message(encode_typed_data(full_message=data), key).signature)


async def test_over_payment_refunded_to_the_address_the_merchant_signed(env, db_url, merchant_id):
    paid = paid_intents(env, db_url, merchant_id, 1, paid=AMOUNT + 5_000)[0]
    deadline = env.w3.eth.get_block("latest")["timestamp"] + 3600
    w3 = env.async_w3()
    built = await build_refund(
        w3,
        env.network,
        paid.terms,
        token=paid.terms.token,
        to=CUSTOMER,
        amount=5_000,
        deadline=deadline,
        merchant_signature=sign_refund(env, paid.terms, CUSTOMER, 5_000, deadline),
        relayer=RELAYER.address,
    )
    before = env.usdc.functions.balanceOf(CUSTOMER).call()
    manager = RelayerNonceManager(w3, env.network, RELAYER)  # the relayer key's one sender
    outcome = await manager.wait(await manager.send(built.call, built.gas, label="deposit_refund"), 30)
    assert outcome.succeeded
    assert env.usdc.functions.balanceOf(CUSTOMER).call() - before == 5_000
    assert env.usdc.functions.balanceOf(paid.address).call() == AMOUNT  # the payment itself stays


async def test_a_refund_signed_by_someone_else_is_refused_before_sending(env, db_url, merchant_id):
    paid = paid_intents(env, db_url, merchant_id, 1, paid=AMOUNT + 5_000)[0]
    deadline = env.w3.eth.get_block("latest")["timestamp"] + 3600
    forged = sign_refund(env, paid.terms, CUSTOMER, 5_000, deadline, key=ANVIL_KEYS[ACCOUNTS.index(PAYER)])
    with pytest.raises(TransactionRevertedError, match="InvalidMerchantSignature"):
        await build_refund(
            env.async_w3(),
            env.network,
            paid.terms,
            token=paid.terms.token,
            to=CUSTOMER,
            amount=5_000,
            deadline=deadline,
            merchant_signature=forged,
            relayer=RELAYER.address,
        )


async def test_merchant_rescues_a_wrong_token_with_the_built_transaction(env, db_url, merchant_id):
    from sluice.contracts import load_artifact

    paid = paid_intents(env, db_url, merchant_id, 1)[0]
    artifact = load_artifact("DevUSDT")
    tx = (
        env.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        .constructor()
        .transact({"from": PAYER})
    )
    usdt = env.w3.eth.contract(
        address=env.w3.eth.wait_for_transaction_receipt(tx)["contractAddress"], abi=artifact.abi
    )
    usdt.functions.mint(paid.address, 7_000_000).transact({"from": PAYER})

    unsigned = await build_rescue(env.async_w3(), env.network, paid.terms, usdt.address)
    signed = Account.sign_transaction(unsigned, MERCHANT_KEY)
    receipt = env.w3.eth.wait_for_transaction_receipt(env.w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 1
    assert usdt.functions.balanceOf(MERCHANT).call() == 7_000_000
    assert env.usdc.functions.balanceOf(paid.address).call() == AMOUNT  # the intent's token untouched
