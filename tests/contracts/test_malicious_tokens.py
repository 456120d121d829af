"""Hostile and unusual ERC-20s against both contracts: on the way in each token either works exactly or
is rejected with a clear error; on the way out (escrow capture, refund, void, reclaim) funds already
held always leave, whatever the token does later; a token that calls back into Sluice during a
transfer never gets through.

- FeeOnTransferToken: pay / deposit revert TransferShortfall (it is never held).
- FeeSwitchToken: works exactly until its fee is switched on, then pay / deposit revert
  TransferShortfall; escrow exits still work, receivers get what the token leaves them.
- ReturnsFalseToken: pay / deposit revert SafeERC20FailedOperation (it is never held).
- BlocklistToken (USDC-style): pay / deposit involving a blocked address revert with the token's
  Blocklisted; escrow exits credit a blocked receiver's share as claimable and pay the others.
- PausableToken: pay / deposit revert with the token's EnforcedPause; escrow exits while it is paused
  credit everything as claimable, claimed once the token resumes.
- ReentrantToken: works exactly; every call back into Sluice is refused.
"""

import pytest

from sluice.chain.intents import Split

from factories import MINT
from helpers import (
    ZERO,
    Status,
    account,
    balances,
    capturable,
    deltas,
    deposit,
    escrow_state,
    event,
    held,
    open_escrow,
    pay,
    reverts,
    send,
    send_as,
    shares,
    sign_claim,
)

pytestmark = pytest.mark.contracts


def _token(system, name):
    """A freshly deployed test token, with MINT units for the payer."""
    token = system.chain.deploy(name)
    send(token.functions.mint(system.payer, MINT), system.owner)
    return token


# ---------------------------------------------------------------------------------- fee on transfer


def test_fee_on_transfer_token_pay_reverts_transfer_shortfall(system):
    token = _token(system, "FeeOnTransferToken")
    intent = system.intent(token=token.address)
    merchant_share, _ = shares(intent.amount, intent.splits)
    received = merchant_share - merchant_share // 100  # the token burns 1% of every transfer
    before = balances(system, token, system.payer, system.merchant)
    with reverts("TransferShortfall", token.address, system.merchant, merchant_share, received):
        pay(system, intent)
    assert balances(system, token, system.payer, system.merchant) == before


def test_fee_on_transfer_token_deposit_reverts_transfer_shortfall(system):
    token = _token(system, "FeeOnTransferToken")
    intent = system.intent("escrow", token=token.address)
    received = intent.amount - intent.amount // 100
    with reverts("TransferShortfall", token.address, system.escrow.address, intent.amount, received):
        deposit(system, intent)
    assert escrow_state(system, intent)["status"] == Status.NONE


def test_fee_on_transfer_token_is_rejected_even_when_splits_take_everything(system):
    token = _token(system, "FeeOnTransferToken")
    payments = system.chain.deploy(
        "SluicePayments", system.owner, system.chain.operator.address, system.chain.relayer.address, 10_000
    )
    intent = system.intent(token=token.address, splits=(Split(system.fee_recipient, 10_000),))
    send(token.functions.approve(payments.address, intent.amount), system.payer)
    signature = system.sign(intent, contract=payments.address)
    # The merchant's share is zero, so the first split's transfer carries the balance check.
    with reverts("TransferShortfall"):
        send(payments.functions.pay(intent.as_tuple(), signature), system.payer)


# ---------------------------------------------------------------------------------- returns false


def test_returns_false_token_pay_reverts_safe_erc20_failed_operation(system):
    token = _token(system, "ReturnsFalseToken")
    intent = system.intent(token=token.address)
    with reverts("SafeERC20FailedOperation", token.address):
        pay(system, intent)
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is False


def test_returns_false_token_deposit_reverts_safe_erc20_failed_operation(system):
    token = _token(system, "ReturnsFalseToken")
    intent = system.intent("escrow", token=token.address)
    with reverts("SafeERC20FailedOperation", token.address):
        deposit(system, intent)
    assert escrow_state(system, intent)["status"] == Status.NONE


# --------------------------------------------------------------------------------------- blocklist


def test_blocklist_token_pays_exactly_when_nobody_is_blocked(system):
    token = _token(system, "BlocklistToken")
    intent = system.intent(token=token.address)
    parties = (system.payer, system.merchant, system.fee_recipient)
    before = balances(system, token, *parties)
    pay(system, intent)
    merchant_share, fees = shares(intent.amount, intent.splits)
    assert deltas(before, balances(system, token, *parties)) == [-intent.amount, merchant_share, *fees]


@pytest.mark.parametrize("blocked", ["merchant", "fee_recipient", "payer"])
def test_blocklist_token_pay_involving_a_blocked_address_reverts_blocklisted(system, blocked):
    token = _token(system, "BlocklistToken")
    address = getattr(system, blocked)
    send(token.functions.setBlocked(address, True), system.owner)
    intent = system.intent(token=token.address)
    with reverts("Blocklisted", address):
        pay(system, intent)
    assert system.payments.functions.isNonceUsed(intent.nonce).call() is False


def test_blocklist_token_capture_credits_a_blocked_merchant_and_pays_the_splits(system):
    """The review's finding: a blocked receiver made every capture revert. Now its share is credited."""
    token = _token(system, "BlocklistToken")
    intent = open_escrow(system, token=token.address)
    send(token.functions.setBlocked(system.merchant, True), system.owner)
    before = balances(system, token, system.merchant, system.fee_recipient)
    receipt = send_as(system.escrow.functions.capture(intent.as_tuple(), intent.amount), system.chain.relayer)
    merchant_share, fees = shares(intent.amount, intent.splits)
    assert deltas(before, balances(system, token, system.merchant, system.fee_recipient)) == [0, *fees]
    assert event(system.escrow, "PushFailed", receipt) == {
        "intentId": intent.id,
        "recipient": system.merchant,
        "token": token.address,
        "amount": merchant_share,
    }
    assert system.escrow.functions.claimable(token.address, system.merchant).call() == merchant_share
    # The merchant withdraws to another address of its own.
    receipt = send(system.escrow.functions.claim(token.address, system.other), system.merchant)
    assert event(system.escrow, "Claimed", receipt) == {
        "account": system.merchant,
        "token": token.address,
        "to": system.other,
        "amount": merchant_share,
    }
    assert system.balance(token, system.other) == merchant_share
    assert system.escrow.functions.claimable(token.address, system.merchant).call() == 0


def test_blocklist_token_capture_with_a_blocked_fee_recipient_pays_the_merchant(system):
    token = _token(system, "BlocklistToken")
    intent = open_escrow(system, token=token.address)
    send(token.functions.setBlocked(system.fee_recipient, True), system.owner)
    before = system.balance(token, system.merchant)
    send(system.escrow.functions.capture(intent.as_tuple(), intent.amount), system.merchant)
    merchant_share, fees = shares(intent.amount, intent.splits)
    assert system.balance(token, system.merchant) - before == merchant_share
    assert system.escrow.functions.claimable(token.address, system.fee_recipient).call() == fees[0]


@pytest.mark.parametrize("exit_", ["refund", "void", "reclaim"])
def test_blocklist_token_exits_to_a_blocked_payer_are_credited_and_claimable_by_signature(system, exit_):
    token = _token(system, "BlocklistToken")
    intent = open_escrow(system, token=token.address)
    send(token.functions.setBlocked(system.payer, True), system.owner)
    if exit_ == "refund":
        send(system.escrow.functions.refund(intent.as_tuple(), intent.amount), system.merchant)
    elif exit_ == "void":
        send_as(system.escrow.functions.void(intent.as_tuple()), system.chain.relayer)
    else:
        system.chain.time_travel(intent.reclaim_after - system.chain.now() + 1)
        send(system.escrow.functions.reclaim(intent.as_tuple()), system.payer)
    assert system.escrow.functions.claimable(token.address, system.payer).call() == intent.amount
    # The payer signs for a new address; anyone (here the relayer) sends the claim.
    deadline = system.chain.now() + 600
    signature = sign_claim(system, account(system, system.payer), token.address, system.other, deadline)
    fn = system.escrow.functions.claimWithSignature(
        system.payer, token.address, system.other, deadline, signature
    )
    send_as(fn, system.chain.relayer)
    assert system.balance(token, system.other) == intent.amount
    assert system.escrow.functions.claimable(token.address, system.payer).call() == 0
    assert system.escrow.functions.claimNonces(system.payer).call() == 1


def test_claim_with_a_signature_for_another_address_reverts_invalid_claim_signature(system):
    token = _token(system, "BlocklistToken")
    intent = open_escrow(system, token=token.address)
    send(token.functions.setBlocked(system.payer, True), system.owner)
    send(system.escrow.functions.refund(intent.as_tuple(), 1_000), system.merchant)
    deadline = system.chain.now() + 600
    signature = sign_claim(system, account(system, system.payer), token.address, system.other, deadline)
    redirected = system.escrow.functions.claimWithSignature(
        system.payer, token.address, system.fee_recipient, deadline, signature
    )
    with reverts("InvalidClaimSignature", system.payer):
        send(redirected, system.fee_recipient)
    fn = system.escrow.functions.claimWithSignature(
        system.payer, token.address, system.other, deadline, signature
    )
    send(fn, system.fee_recipient)
    with reverts("InvalidClaimSignature", system.payer):  # the nonce moved on: no replay
        send(fn, system.fee_recipient)


def test_claim_of_nothing_reverts_nothing_to_claim(system):
    with reverts("NothingToClaim", system.usdc.address, system.payer):
        send(system.escrow.functions.claim(system.usdc.address, system.payer), system.payer)


def test_native_capture_to_a_merchant_refusing_the_coin_is_credited(system):
    """A merchant contract without a payable receive function cannot block the splits."""
    refusing = system.usdc.address  # a contract with no receive function
    intent = open_escrow(system, token=ZERO, amount=10**18, merchant=refusing)
    before = system.balance(None, system.fee_recipient)
    send_as(system.escrow.functions.capture(intent.as_tuple(), intent.amount), system.chain.relayer)
    merchant_share, fees = shares(intent.amount, intent.splits)
    assert system.balance(None, system.fee_recipient) - before == fees[0]
    assert system.escrow.functions.claimable(ZERO, refusing).call() == merchant_share


# ---------------------------------------------------------------------------------- fee switch


def test_fee_switch_token_pay_reverts_transfer_shortfall_once_the_fee_is_on(system):
    token = _token(system, "FeeSwitchToken")
    pay(system, system.intent(token=token.address))  # no fee yet: works exactly
    send(token.functions.setFee(100), system.owner)
    intent = system.intent(token=token.address)
    with reverts("TransferShortfall"):
        pay(system, intent)


@pytest.mark.parametrize("exit_", ["capture", "refund", "void", "reclaim"])
def test_fee_switched_on_after_deposit_does_not_freeze_the_escrow(system, exit_):
    """The review's finding: a fee switched on after the deposit made every exit revert
    (TransferShortfall). Now the exit goes through and the receiver gets what the token leaves it."""
    token = _token(system, "FeeSwitchToken")
    intent = open_escrow(system, token=token.address, amount=1_000_000)
    send(token.functions.setFee(100), system.owner)  # 1%
    escrow_before = system.balance(token, system.escrow.address)
    if exit_ == "capture":
        before = system.balance(token, system.merchant)
        send(system.escrow.functions.capture(intent.as_tuple(), intent.amount), system.merchant)
        merchant_share, _ = shares(intent.amount, intent.splits)
        assert system.balance(token, system.merchant) - before == merchant_share - merchant_share // 100
    else:
        before = system.balance(token, system.payer)
        if exit_ == "refund":
            send(system.escrow.functions.refund(intent.as_tuple(), intent.amount), system.merchant)
        elif exit_ == "void":
            send_as(system.escrow.functions.void(intent.as_tuple()), system.chain.relayer)
        else:
            system.chain.time_travel(intent.reclaim_after - system.chain.now() + 1)
            send(system.escrow.functions.reclaim(intent.as_tuple()), system.payer)
        assert system.balance(token, system.payer) - before == intent.amount - intent.amount // 100
    assert escrow_before - system.balance(token, system.escrow.address) == intent.amount
    assert capturable(system, intent) == 0


# ------------------------------------------------------------------------------------- pausable


def test_pausable_token_pay_while_paused_reverts_with_the_token_error(system):
    token = _token(system, "PausableToken")
    send(token.functions.pause(), system.owner)
    with reverts("EnforcedPause"):
        pay(system, system.intent(token=token.address))


def test_pausable_token_paused_after_deposit_credits_every_payout_until_claimed(system):
    token = _token(system, "PausableToken")
    intent = open_escrow(system, token=token.address, amount=1_000_000)
    send(token.functions.pause(), system.owner)
    send(system.escrow.functions.capture(intent.as_tuple(), 600_000), system.merchant)
    send_as(system.escrow.functions.void(intent.as_tuple()), system.chain.relayer)
    merchant_share, fees = shares(600_000, intent.splits)
    claimable_of = system.escrow.functions.claimable
    assert claimable_of(token.address, system.merchant).call() == merchant_share
    assert claimable_of(token.address, system.fee_recipient).call() == fees[0]
    assert claimable_of(token.address, system.payer).call() == 400_000
    assert escrow_state(system, intent)["status"] == Status.VOIDED
    with reverts("EnforcedPause"):  # claims go through the token too: they wait for it
        send(system.escrow.functions.claim(token.address, system.payer), system.payer)
    send(token.functions.unpause(), system.owner)
    before = system.balance(token, system.payer)
    send(system.escrow.functions.claim(token.address, system.payer), system.payer)
    assert system.balance(token, system.payer) - before == 400_000


# --------------------------------------------------------------------------------------- reentrant


def _arm(system, token, target, function, *args):
    send(token.functions.arm(target.address, target.encode_abi(function, args=list(args))), system.owner)


def _counters(token):
    return token.functions.reentryAttempted().call(), token.functions.reentrySucceeded().call()


def _poke(system, token):
    """A plain transfer outside any Sluice call: the armed call back then runs unguarded (control)."""
    send(token.functions.transfer(system.owner, 1), system.payer)


def test_reentrant_token_cannot_pay_again_during_a_pay(system):
    token = _token(system, "ReentrantToken")
    # The token itself pays a second, open intent from its own balance when called back.
    inner = system.intent(token=token.address, merchant=system.other, splits=())
    send(token.functions.mint(token.address, inner.amount), system.owner)
    send(token.functions.approveFromToken(system.payments.address, inner.amount), system.owner)
    _arm(system, token, system.payments, "pay", inner.as_tuple(), system.sign(inner))
    outer = system.intent(token=token.address)
    parties = (system.payer, system.merchant, system.fee_recipient, system.other)
    before = balances(system, token, *parties)

    pay(system, outer)

    assert _counters(token) == (2, 0)  # a call back on each of the two transfers; none went through
    merchant_share, fees = shares(outer.amount, outer.splits)
    assert deltas(before, balances(system, token, *parties)) == [-outer.amount, merchant_share, *fees, 0]
    assert system.payments.functions.isNonceUsed(inner.nonce).call() is False
    # Control: the very same call back succeeds outside a payment, so only the guard stopped it.
    _poke(system, token)
    assert _counters(token) == (3, 1)
    assert system.balance(token, system.other) - before[3] == inner.amount


def _escrow_merchant_is_token(system, token, amount=1_000_000):
    """An escrow funded by the payer whose merchant is the token (so its call backs are authorized)."""
    return open_escrow(system, token=token.address, amount=amount, merchant=token.address)


def test_reentrant_token_cannot_capture_again_during_a_capture(system):
    token = _token(system, "ReentrantToken")
    intent = _escrow_merchant_is_token(system, token)
    _arm(system, token, system.escrow, "capture", intent.as_tuple(), 100_000)
    parties = (system.escrow.address, token.address, system.fee_recipient)
    before = balances(system, token, *parties)

    send_as(system.escrow.functions.capture(intent.as_tuple(), 400_000), system.chain.relayer)

    assert _counters(token) == (2, 0)
    merchant_share, fees = shares(400_000, intent.splits)
    assert deltas(before, balances(system, token, *parties)) == [-400_000, merchant_share, *fees]
    state = escrow_state(system, intent)
    assert (state["captured"], state["refunded"], state["status"]) == (400_000, 0, Status.OPEN)
    assert capturable(system, intent) == 600_000
    _poke(system, token)
    assert _counters(token) == (3, 1)
    assert escrow_state(system, intent)["captured"] == 500_000


def test_reentrant_token_cannot_refund_again_during_a_refund(system):
    token = _token(system, "ReentrantToken")
    intent = _escrow_merchant_is_token(system, token)
    _arm(system, token, system.escrow, "refund", intent.as_tuple(), 100_000)
    parties = (system.escrow.address, system.payer)
    before = balances(system, token, *parties)

    send_as(system.escrow.functions.refund(intent.as_tuple(), 300_000), system.chain.relayer)

    assert _counters(token) == (1, 0)
    assert deltas(before, balances(system, token, *parties)) == [-300_000, 300_000]
    state = escrow_state(system, intent)
    assert (state["captured"], state["refunded"]) == (0, 300_000)
    _poke(system, token)
    assert _counters(token) == (2, 1)
    assert escrow_state(system, intent)["refunded"] == 400_000


def test_reentrant_token_cannot_void_during_a_capture(system):
    token = _token(system, "ReentrantToken")
    intent = _escrow_merchant_is_token(system, token)
    _arm(system, token, system.escrow, "void", intent.as_tuple())
    before = balances(system, token, system.escrow.address, system.payer)

    send_as(system.escrow.functions.capture(intent.as_tuple(), 250_000), system.chain.relayer)

    assert _counters(token) == (2, 0)
    assert deltas(before, balances(system, token, system.escrow.address, system.payer)) == [-250_000, 0]
    state = escrow_state(system, intent)
    assert (state["status"], state["captured"], state["released"]) == (Status.OPEN, 250_000, 0)
    _poke(system, token)
    assert _counters(token) == (3, 1)
    state = escrow_state(system, intent)
    assert (state["status"], state["released"]) == (Status.VOIDED, 750_000)


def test_reentrant_token_cannot_reclaim_during_another_reclaim(system):
    token = _token(system, "ReentrantToken")
    outer = open_escrow(system, token=token.address)
    # The token funds an escrow of its own (as its payer) through an unguarded call back.
    inner = system.intent("escrow", token=token.address, amount=500_000)
    send(token.functions.mint(token.address, inner.amount), system.owner)
    send(token.functions.approveFromToken(system.escrow.address, inner.amount), system.owner)
    _arm(
        system, token, system.escrow, "deposit", inner.as_tuple(), system.sign(inner, "escrow"), inner.amount
    )
    _poke(system, token)
    inner = held(system, inner, token.address)
    assert escrow_state(system, inner)["payer"] == token.address
    latest = max(outer.reclaim_after, inner.reclaim_after)
    system.chain.time_travel(latest - system.chain.now() + 1)
    _arm(system, token, system.escrow, "reclaim", inner.as_tuple())
    attempted, succeeded = _counters(token)
    parties = (system.escrow.address, system.payer, token.address)
    before = balances(system, token, *parties)

    receipt = send(system.escrow.functions.reclaim(outer.as_tuple()), system.payer)

    assert _counters(token) == (attempted + 1, succeeded)
    assert event(system.escrow, "Reclaimed", receipt)["amount"] == outer.amount
    assert deltas(before, balances(system, token, *parties)) == [-outer.amount, outer.amount, 0]
    assert escrow_state(system, inner)["status"] == Status.OPEN
    assert escrow_state(system, inner)["deposited"] == inner.amount
    _poke(system, token)
    assert _counters(token) == (attempted + 2, succeeded + 1)
    assert escrow_state(system, inner)["status"] == Status.RECLAIMED
