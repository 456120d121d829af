"""SluicePayments.pay: only an operator signer's signature for this chain, this contract and these exact
intent fields is accepted, and each signed intent pays once."""

import pytest
from eth_account import Account
from eth_keys.constants import SECPK1_N

from sluice.chain.intents import Split

from factories import MAX_FEE_BPS, with_fields
from helpers import balances, pay, recovered, reverts, send
from reverts import transact

pytestmark = pytest.mark.contracts

STRANGER_KEY = "0x" + "22" * 32


def _pay_fn(system, intent, signature):
    return system.payments.functions.pay(intent.as_tuple(), signature)


def _expect_invalid_signer(system, intent, signature):
    """Paying reverts InvalidSigner with the address the contract recovers, which is not a signer."""
    wrong = recovered(system, intent, signature)
    assert wrong != system.chain.operator.address
    with reverts("InvalidSigner", wrong):
        transact(_pay_fn(system, intent, signature), system.payer)


def test_pay_reverts_when_signed_by_a_key_that_is_not_a_signer(system):
    intent = system.intent()
    stranger = Account.from_key(STRANGER_KEY).address
    with reverts("InvalidSigner", stranger):
        transact(_pay_fn(system, intent, system.sign(intent, key=STRANGER_KEY)), system.payer)


def test_pay_reverts_when_signed_for_another_chain_id(system):
    intent = system.intent()
    _expect_invalid_signer(system, intent, system.sign(intent, chain_id=system.chain.chain_id + 1))


def test_pay_reverts_when_signed_for_the_escrow_contract(system):
    intent = system.intent()
    _expect_invalid_signer(system, intent, system.sign(intent, "escrow"))


def test_pay_reverts_when_signed_for_the_payments_domain_at_another_address(system):
    """Same domain name and chain, but another deployment: the verifying contract is bound too."""
    intent = system.intent()
    other = system.chain.deploy(
        "SluicePayments",
        system.owner,
        system.chain.operator.address,
        system.chain.relayer.address,
        MAX_FEE_BPS,
    )
    signature = system.sign(intent, contract=other.address)
    # The signature is genuine: the deployment it was made for accepts it.
    send(system.usdc.functions.approve(other.address, intent.amount), system.payer)
    send(other.functions.pay(intent.as_tuple(), signature), system.payer)
    assert other.functions.isNonceUsed(intent.nonce).call() is True
    _expect_invalid_signer(system, intent, signature)


@pytest.mark.parametrize(
    "change",
    [
        "amount",
        "merchant",
        "token",
        "split_bps",
        "split_recipient",
        "split_removed",
        "split_added",
        "id",
        "nonce",
        "deadline",
        "payer",
    ],
)
def test_pay_reverts_when_intent_altered_after_signing(system, change):
    intent = system.intent()
    signature = system.sign(intent)
    fee = intent.splits[0]
    altered = with_fields(
        intent,
        **{
            "amount": {"amount": intent.amount + 1},
            "merchant": {"merchant": system.other},
            "token": {"token": system.usdt.address},
            "split_bps": {"splits": (Split(fee.recipient, fee.bps + 1),)},
            "split_recipient": {"splits": (Split(system.other, fee.bps),)},
            "split_removed": {"splits": ()},
            "split_added": {"splits": (fee, Split(system.other, 1))},
            "id": {"id": bytes(32)},
            "nonce": {"nonce": intent.nonce + 10**6},
            "deadline": {"deadline": intent.deadline + 1},
            "payer": {"payer": system.payer},
        }[change],
    )
    _expect_invalid_signer(system, altered, signature)


def test_pay_reverts_on_the_high_s_twin_of_a_valid_signature(system):
    """ECDSA malleability: (r, n - s, v ^ 1) recovers the same signer, and the contract refuses it."""
    intent = system.intent()
    signature = system.sign(intent)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    twin = r + (SECPK1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    with reverts("ECDSAInvalidSignatureS"):
        transact(_pay_fn(system, intent, twin), system.payer)


def test_pay_reverts_on_a_signature_of_wrong_length(system):
    intent = system.intent()
    with reverts("ECDSAInvalidSignatureLength", 64):
        transact(_pay_fn(system, intent, system.sign(intent)[:64]), system.payer)


def test_pay_replay_of_a_paid_intent_reverts_nonce_already_used(system):
    intent = system.intent()
    signature = system.sign(intent)
    send(system.usdc.functions.approve(system.payments.address, 2 * intent.amount), system.payer)
    send(_pay_fn(system, intent, signature), system.payer)
    parties = (system.payer, system.merchant, system.fee_recipient)
    before = balances(system, system.usdc, *parties)
    with reverts("NonceAlreadyUsed", intent.nonce):
        transact(_pay_fn(system, intent, signature), system.payer)
    assert balances(system, system.usdc, *parties) == before


def test_pay_replay_by_another_payer_reverts_nonce_already_used(system):
    intent = system.intent()
    signature = system.sign(intent)
    pay(system, intent, signature=signature)
    send(system.usdc.functions.approve(system.payments.address, intent.amount), system.other)
    with reverts("NonceAlreadyUsed", intent.nonce):
        transact(_pay_fn(system, intent, signature), system.other)


def test_pay_of_a_new_intent_id_with_a_used_nonce_reverts_nonce_already_used(system):
    first = system.intent()
    pay(system, first)
    second = system.intent(nonce=first.nonce)  # a new id, properly signed, but the nonce is spent
    assert second.id != first.id
    with reverts("NonceAlreadyUsed", first.nonce):
        pay(system, second)
