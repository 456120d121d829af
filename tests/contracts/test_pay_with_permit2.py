"""SluicePayments.payWithPermit2: a gasless ERC-20 payment through the canonical Uniswap Permit2 (its
real bytecode at its canonical address, on both backends), with the payment intent as the witness of
a `PermitWitnessTransferFrom`, relayed by anyone."""

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from sluice.chain.permit2 import (
    PERMIT2_ADDRESS,
    WITNESS_TYPE_STRING,
    domain_separator,
    permit2_abi,
    permit2_transfer,
    permit_nonce,
    recover_permit2_signer,
    sign_permit2,
)

from helpers import ZERO, account, balances, deltas, event, reverts, send, send_as, shares

pytestmark = pytest.mark.contracts

MAX = 2**256 - 1


@pytest.fixture
def permit2(system):
    return system.chain.w3.eth.contract(address=PERMIT2_ADDRESS, abi=permit2_abi())


def _approve_permit2(system, token=None, who=None):
    token = token or system.usdc
    send(token.functions.approve(PERMIT2_ADDRESS, MAX), who or system.payer)


def _sign(system, intent, payer=None, contract=None):
    payer = payer or system.payer
    transfer = permit2_transfer(
        intent, payer=payer, chain_id=system.chain.chain_id, contract=contract or system.payments.address
    )
    return transfer, sign_permit2(transfer, account(system, payer).key)


def _relay(system, intent, transfer, signature, payer=None):
    fn = system.payments.functions.payWithPermit2(
        intent.as_tuple(), system.sign(intent), payer or transfer.payer, transfer.nonce, signature
    )
    return send_as(fn, system.chain.relayer)


def test_installed_permit2_is_the_canonical_code_with_this_chains_domain(system, permit2):
    assert len(system.chain.w3.eth.get_code(PERMIT2_ADDRESS)) == 9152
    assert permit2.functions.DOMAIN_SEPARATOR().call() == domain_separator(system.chain.chain_id)


def test_witness_type_string_matches_the_contract_and_eth_accounts_encoding(system):
    assert system.payments.functions.PERMIT2_WITNESS_TYPE().call() == WITNESS_TYPE_STRING
    assert system.payments.functions.PERMIT2().call() == PERMIT2_ADDRESS
    transfer, _ = _sign(system, system.intent())
    signable = encode_typed_data(full_message=transfer.typed_data())
    # eth-account's struct hash of the message uses exactly Permit2's stub + our witness type string.
    stub = (
        "PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,"
    )
    typehash = keccak(text=stub + WITNESS_TYPE_STRING)
    assert bytes(signable.body) == keccak(
        typehash
        + _token_permissions_hash(transfer)
        + bytes(12)
        + bytes.fromhex(system.payments.address[2:])
        + transfer.nonce.to_bytes(32, "big")
        + transfer.intent.deadline.to_bytes(32, "big")
        + _intent_struct_hash(system, transfer.intent)
    )


def _token_permissions_hash(transfer):
    return keccak(
        keccak(text="TokenPermissions(address token,uint256 amount)")
        + bytes(12)
        + bytes.fromhex(transfer.intent.token[2:])
        + transfer.intent.amount.to_bytes(32, "big")
    )


def _intent_struct_hash(system, intent):
    from helpers import struct_hash

    return struct_hash(system, intent, "payments")


def test_relayed_permit2_transfer_pays_merchant_and_splits_exactly(system, permit2):
    _approve_permit2(system)
    intent = system.intent(payer=system.payer)
    parties = (system.payer, system.merchant, system.fee_recipient, system.payments.address)
    native_before = system.balance(None, system.payer)
    before = balances(system, system.usdc, *parties)
    transfer, signature = _sign(system, intent)
    assert recover_permit2_signer(transfer, signature) == system.payer

    receipt = _relay(system, intent, transfer, signature)

    merchant_share, fees = shares(intent.amount, intent.splits)
    assert deltas(before, balances(system, system.usdc, *parties)) == [
        -intent.amount,
        merchant_share,
        *fees,
        0,
    ]
    assert system.balance(None, system.payer) == native_before  # the payer paid no gas
    paid = event(system.payments, "Paid", receipt)
    assert (paid["payer"], paid["merchant"], paid["amount"]) == (system.payer, system.merchant, intent.amount)
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is True
    word, bit = transfer.nonce >> 8, transfer.nonce & 0xFF
    assert permit2.functions.nonceBitmap(system.payer, word).call() >> bit & 1 == 1


def test_permit2_pays_a_token_without_return_values(system):
    """Any ERC-20: DevUSDT (no return value, no permit, no EIP-3009) through Permit2."""
    _approve_permit2(system, system.usdt)
    intent = system.intent(token=system.usdt.address)
    before = balances(system, system.usdt, system.payer, system.merchant)
    transfer, signature = _sign(system, intent)
    _relay(system, intent, transfer, signature)
    merchant_share, _ = shares(intent.amount, intent.splits)
    assert deltas(before, balances(system, system.usdt, system.payer, system.merchant)) == [
        -intent.amount,
        merchant_share,
    ]


def test_front_runner_cannot_redeem_the_signature_on_permit2_directly(system, permit2):
    """Permit2 takes the spender from msg.sender: only SluicePayments can use the signature."""
    _approve_permit2(system)
    intent = system.intent()
    transfer, signature = _sign(system, intent)
    steal = permit2.functions.permitWitnessTransferFrom(
        ((intent.token, intent.amount), transfer.nonce, intent.deadline),
        (system.other, intent.amount),
        system.payer,
        _intent_struct_hash(system, intent),
        WITNESS_TYPE_STRING,
        signature,
    )
    with reverts("InvalidSigner"):
        send(steal, system.other)


def test_signature_cannot_pay_another_intent(system):
    """A relayer (or attacker) presenting the payer's signature with another signed intent (another
    merchant, same amount): the witness no longer matches what the payer signed."""
    _approve_permit2(system)
    intent = system.intent()
    transfer, signature = _sign(system, intent)
    other = system.intent(merchant=system.other, amount=intent.amount)
    before = system.balance(system.usdc, system.payer)
    with reverts("InvalidSigner"):
        _relay(system, other, transfer, signature)
    assert system.balance(system.usdc, system.payer) == before
    assert system.payments.functions.isNonceUsed(other.nonce).call() is False


def test_signature_for_another_contract_or_chain_is_refused(system):
    _approve_permit2(system)
    intent = system.intent()
    transfer, signature = _sign(system, intent, contract=system.escrow.address)
    with reverts("InvalidSigner"):
        _relay(system, intent, transfer, signature)


def test_wrong_amount_in_the_signed_permission_is_refused(system):
    _approve_permit2(system)
    intent = system.intent()
    smaller = system.intent(id=intent.id, nonce=intent.nonce, amount=intent.amount - 1)
    transfer, signature = _sign(system, smaller)
    with reverts("InvalidSigner"):
        _relay(system, intent, transfer, signature)


def test_relaying_twice_reverts_nonce_already_used(system):
    _approve_permit2(system)
    intent = system.intent()
    transfer, signature = _sign(system, intent)
    _relay(system, intent, transfer, signature)
    with reverts("NonceAlreadyUsed", intent.nonce):
        _relay(system, intent, transfer, signature)


def test_used_permit2_nonce_cannot_be_replayed_for_a_new_intent_with_the_same_nonce(system, permit2):
    """The payer cancelled the Permit2 nonce (or used it elsewhere): the signature is dead."""
    _approve_permit2(system)
    intent = system.intent()
    transfer, signature = _sign(system, intent)
    word, bit = transfer.nonce >> 8, transfer.nonce & 0xFF
    send(permit2.functions.invalidateUnorderedNonces(word, 1 << bit), system.payer)
    with reverts("InvalidNonce"):
        _relay(system, intent, transfer, signature)
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is False


def test_signer_other_than_the_intents_payer_reverts_wrong_payer(system):
    _approve_permit2(system, who=system.other)
    intent = system.intent(payer=system.payer)
    transfer, signature = _sign(system, intent, payer=system.other)
    with reverts("WrongPayer", intent.id, system.payer, system.other):
        _relay(system, intent, transfer, signature)


def test_claiming_to_be_another_payer_reverts_invalid_signer(system):
    """The relay names the victim as payer but presents the attacker's signature."""
    _approve_permit2(system)
    _approve_permit2(system, who=system.other)
    intent = system.intent()
    transfer, signature = _sign(system, intent, payer=system.other)
    with reverts("InvalidSigner"):
        _relay(system, intent, transfer, signature, payer=system.payer)


def test_without_an_approval_to_permit2_the_transfer_fails(system):
    intent = system.intent(token=system.usdt.address)
    transfer, signature = _sign(system, intent)
    with reverts("Error", "TRANSFER_FROM_FAILED"):
        _relay(system, intent, transfer, signature)


def test_expired_intent_reverts_before_permit2(system):
    _approve_permit2(system)
    intent = system.intent(deadline=system.chain.now() - 1)
    transfer, signature = _sign(system, intent)
    with reverts("IntentExpired"):
        _relay(system, intent, transfer, signature)


def test_native_and_escrow_intents_are_refused(system):
    native = system.intent(token=ZERO, amount=10**18)
    fn = system.payments.functions.payWithPermit2(
        native.as_tuple(),
        system.sign(native),
        system.payer,
        permit_nonce(native, system.payments.address),
        b"",
    )
    with reverts("ZeroAddress"):
        send(fn, system.payer)
    escrowish = system.intent(allow_partial=True, payer=system.payer)
    fn = system.payments.functions.payWithPermit2(
        escrowish.as_tuple(), system.sign(escrowish), system.payer, 0, b""
    )
    with reverts("EscrowOnlyIntent", escrowish.id):
        send(fn, system.payer)


def test_permit_nonce_is_namespaced_by_contract_and_dense():
    a = permit_nonce(_fake_intent(5), "0x" + "ab" * 20)
    b = permit_nonce(_fake_intent(6), "0x" + "ab" * 20)
    c = permit_nonce(_fake_intent(5), "0x" + "cd" * 20)
    assert b == a + 1 and a >> 8 == b >> 8
    assert a != c and a >> 96 == int("ab" * 20, 16)


def _fake_intent(nonce):
    from sluice.chain.intents import PaymentIntent

    return PaymentIntent(
        id=bytes(32),
        nonce=nonce,
        token=ZERO,
        amount=1,
        payer=ZERO,
        deadline=1,
        merchant=Account.create().address,
        splits=(),
        reclaim_after=0,
        allow_partial=False,
    )
