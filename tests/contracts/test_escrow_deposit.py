"""SluiceEscrow.deposit / depositWithPermit: opening an escrow, partial deposits, and every rejection."""

import pytest

from factories import with_fields
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
    gas_cost,
    held,
    next_block_at,
    open_escrow,
    reverts,
    send,
    send_as,
    sign_permit,
    struct_hash,
)
from reverts import transact

pytestmark = pytest.mark.contracts


def _deposit_fn(system, intent, amount=None, signature=None):
    amount = intent.amount if amount is None else amount
    return system.escrow.functions.deposit(
        intent.as_tuple(), signature or system.sign(intent, "escrow"), amount
    )


@pytest.mark.parametrize("token_name", ["usdc", "usdt"])
def test_deposit_erc20_moves_the_exact_amount_into_an_open_escrow(system, token_name):
    token = getattr(system, token_name)
    intent = system.intent("escrow", token=token.address)
    before = balances(system, token, system.payer, system.escrow.address, system.merchant)

    deposit(system, intent)

    after = balances(system, token, system.payer, system.escrow.address, system.merchant)
    assert deltas(before, after) == [-intent.amount, intent.amount, 0]  # nothing is paid out yet
    assert escrow_state(system, intent) == {
        "key": struct_hash(system, held(system, intent)),
        "payer": system.payer,
        "status": Status.OPEN,
        "deposited": intent.amount,
        "captured": 0,
        "refunded": 0,
        "released": 0,
    }
    assert capturable(system, intent) == intent.amount
    assert system.escrow.functions.isNonceUsed(intent.nonce).call() is True


def test_deposit_native_coin_holds_the_exact_value(system):
    intent = system.intent("escrow", token=ZERO, amount=3 * 10**18 + 1)
    before = balances(system, None, system.payer, system.escrow.address)
    receipt = deposit(system, intent)
    after = balances(system, None, system.payer, system.escrow.address)
    assert deltas(before, after) == [-intent.amount - gas_cost(receipt), intent.amount]
    assert escrow_state(system, intent)["deposited"] == intent.amount
    assert capturable(system, intent) == intent.amount


def test_deposited_event_reports_intent_payer_token_amount_and_total(system):
    intent = system.intent("escrow")
    dep = event(system.escrow, "Deposited", deposit(system, intent))
    assert dep == {
        "intentId": intent.id,
        "payer": system.payer,
        "token": system.usdc.address,
        "amount": intent.amount,
        "totalDeposited": intent.amount,
    }


def test_deposit_of_an_open_intent_records_the_depositor_as_payer(system):
    intent = system.intent("escrow")  # payer = zero address: anyone may fund it
    deposit(system, intent, sender=system.other)
    assert escrow_state(system, intent, system.other)["payer"] == system.other
    assert escrow_state(system, intent, system.payer)["status"] == Status.NONE


def test_deposit_with_permit_needs_no_prior_approve(system):
    intent = system.intent("escrow")
    v, r, s = sign_permit(
        system,
        system.usdc,
        account(system, system.payer),
        system.escrow.address,
        intent.amount,
        intent.deadline,
    )
    before = system.balance(system.usdc, system.escrow.address)
    fn = system.escrow.functions.depositWithPermit(
        intent.as_tuple(), system.sign(intent, "escrow"), intent.amount, intent.deadline, v, r, s
    )
    receipt = send(fn, system.payer)
    assert system.balance(system.usdc, system.escrow.address) - before == intent.amount
    assert event(system.escrow, "Deposited", receipt)["totalDeposited"] == intent.amount
    assert escrow_state(system, intent)["status"] == Status.OPEN


def test_deposit_with_permit_succeeds_when_the_permit_was_front_run(system):
    intent = system.intent("escrow")
    v, r, s = sign_permit(
        system,
        system.usdc,
        account(system, system.payer),
        system.escrow.address,
        intent.amount,
        intent.deadline,
    )
    permit = (system.payer, system.escrow.address, intent.amount, intent.deadline, v, r, s)
    send(system.usdc.functions.permit(*permit), system.other)
    fn = system.escrow.functions.depositWithPermit(
        intent.as_tuple(), system.sign(intent, "escrow"), intent.amount, intent.deadline, v, r, s
    )
    send(fn, system.payer)
    assert escrow_state(system, intent)["deposited"] == intent.amount


def test_deposit_with_permit_reverts_when_paused(system):
    intent = system.intent("escrow")
    send(system.escrow.functions.pause(), system.owner)
    fn = system.escrow.functions.depositWithPermit(
        intent.as_tuple(),
        system.sign(intent, "escrow"),
        intent.amount,
        intent.deadline,
        27,
        bytes(32),
        bytes(32),
    )
    with reverts("EnforcedPause"):
        transact(fn, system.payer)


def test_partial_deposits_add_up_to_the_intent_amount(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    signature = system.sign(intent, "escrow")
    send(system.usdc.functions.approve(system.escrow.address, intent.amount), system.payer)
    before = system.balance(system.usdc, system.escrow.address)
    totals = []
    for part in (100_000, 650_000, 250_000):
        receipt = send(_deposit_fn(system, intent, part, signature), system.payer)
        dep = event(system.escrow, "Deposited", receipt)
        assert dep["amount"] == part
        totals.append(dep["totalDeposited"])
        assert escrow_state(system, intent)["deposited"] == dep["totalDeposited"]
    assert totals == [100_000, 750_000, 1_000_000]
    assert system.balance(system.usdc, system.escrow.address) - before == intent.amount
    assert capturable(system, intent) == intent.amount


def test_partial_native_deposits_each_need_their_exact_value(system):
    intent = system.intent("escrow", token=ZERO, amount=10**18, allow_partial=True, payer=system.payer)
    deposit(system, intent, 4 * 10**17)
    with reverts("WrongValue", 6 * 10**17, 5 * 10**17):
        deposit(system, intent, 6 * 10**17, value=5 * 10**17)
    deposit(system, intent, 6 * 10**17)
    assert escrow_state(system, intent)["deposited"] == intent.amount


def test_partial_deposit_beyond_the_remaining_amount_reverts_wrong_amount(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    deposit(system, intent, 700_000)
    with reverts("WrongAmount", intent.id, 300_000, 300_001):
        deposit(system, intent, 300_001)
    assert escrow_state(system, intent)["deposited"] == 700_000


def test_first_partial_deposit_above_the_amount_reverts_wrong_amount(system):
    intent = system.intent("escrow", allow_partial=True, payer=system.payer)
    with reverts("WrongAmount", intent.id, intent.amount, intent.amount + 1):
        deposit(system, intent, intent.amount + 1)


@pytest.mark.parametrize("delta", [-1, +1], ids=["part", "more"])
def test_deposit_other_than_the_amount_reverts_wrong_amount_when_partial_not_allowed(system, delta):
    intent = system.intent("escrow")
    with reverts("WrongAmount", intent.id, intent.amount, intent.amount + delta):
        deposit(system, intent, intent.amount + delta)
    assert escrow_state(system, intent)["status"] == Status.NONE
    assert system.escrow.functions.isNonceUsed(intent.nonce).call() is False


def test_second_deposit_into_a_full_escrow_reverts_wrong_amount(system):
    intent = open_escrow(system)
    with reverts("WrongAmount", intent.id, 0, 1):
        deposit(system, intent, 1)


def test_second_deposit_of_an_intent_naming_no_payer_by_its_depositor_reverts_wrong_amount(system):
    intent = system.intent("escrow")  # as signed: payer = zero address
    deposit(system, intent)
    with reverts("WrongAmount", intent.id, 0, 1):
        deposit(system, intent, 1)


def test_second_deposit_by_a_different_address_reverts_wrong_payer(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    deposit(system, intent, 400_000)
    with reverts("WrongPayer", intent.id, system.payer, system.other):
        deposit(system, intent, 100_000, sender=system.other)


def test_second_deposit_of_an_open_intent_by_another_address_reverts_nonce_already_used(system):
    """An intent for any payer opens one escrow only: a second depositor is refused by the nonce."""
    intent = system.intent("escrow")
    deposit(system, intent)
    with reverts("NonceAlreadyUsed", intent.nonce):
        deposit(system, intent, sender=system.other)


def test_partial_intent_without_a_payer_reverts_payer_required(system):
    """The review's finding: the first depositor of a partial intent without a payer became its payer,
    so a front-runner depositing 1 unit locked the customer out. Partial intents must name the payer."""
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True)
    with reverts("PayerRequired", intent.id):
        deposit(system, intent, 1, sender=system.other)
    assert escrow_state(system, intent, system.other)["status"] == Status.NONE
    assert system.escrow.functions.isNonceUsed(intent.nonce).call() is False


def test_front_runner_cannot_take_over_a_partial_intent_naming_its_payer(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    with reverts("WrongPayer", intent.id, system.payer, system.other):
        deposit(system, intent, 1, sender=system.other)
    deposit(system, intent, 600_000)
    deposit(system, intent, 400_000)
    assert escrow_state(system, intent)["deposited"] == intent.amount


def test_second_deposit_with_a_different_intent_under_the_same_id_reverts_nonce_already_used(system):
    intent = system.intent("escrow", amount=1_000_000, allow_partial=True, payer=system.payer)
    deposit(system, intent, 400_000)
    impostor = with_fields(intent, amount=10_000_000)
    with reverts("NonceAlreadyUsed", intent.nonce):
        deposit(system, impostor, 100_000)


def test_later_partial_deposit_after_the_deadline_reverts_intent_expired(system):
    intent = system.intent("escrow", allow_partial=True, payer=system.payer)
    deposit(system, intent, 1_000)
    send(system.usdc.functions.approve(system.escrow.address, 1_000), system.payer)
    with (
        next_block_at(system.chain, intent.deadline + 1),
        reverts("IntentExpired", intent.id, intent.deadline, intent.deadline + 1),
    ):
        send(_deposit_fn(system, intent, 1_000), system.payer)


def test_first_deposit_after_the_deadline_reverts_intent_expired(system):
    intent = system.intent("escrow")
    with (
        next_block_at(system.chain, intent.deadline + 1),
        reverts("IntentExpired", intent.id, intent.deadline, intent.deadline + 1),
    ):
        send(_deposit_fn(system, intent), system.payer)


@pytest.mark.parametrize("offset", [0, -1, None], ids=["at_deadline", "before_deadline", "zero"])
def test_deposit_reverts_when_reclaim_time_is_not_after_the_deadline(system, offset):
    draft = system.intent("escrow")
    reclaim_after = 0 if offset is None else draft.deadline + offset
    intent = with_fields(draft, reclaim_after=reclaim_after)
    with reverts("InvalidReclaimTime", intent.id, intent.deadline, reclaim_after):
        transact(_deposit_fn(system, intent), system.payer)


def test_deposit_reverts_when_signed_for_the_payments_contract(system):
    intent = system.intent("escrow")
    with reverts("InvalidSigner"):
        transact(_deposit_fn(system, intent, signature=system.sign(intent, "payments")), system.payer)


def test_deposit_reverts_for_payer_bound_intent_sent_by_another_account(system):
    intent = system.intent("escrow", payer=system.payer)
    with reverts("WrongPayer", intent.id, system.payer, system.other):
        transact(_deposit_fn(system, intent), system.other)


def test_deposit_reverts_on_zero_amount(system):
    intent = system.intent("escrow", allow_partial=True, payer=system.payer)
    with reverts("ZeroAmount"):
        transact(_deposit_fn(system, intent, 0), system.payer)


def test_deposit_native_reverts_when_value_differs_from_the_deposit(system):
    intent = system.intent("escrow", token=ZERO, amount=10**18)
    with reverts("WrongValue", intent.amount, intent.amount - 1):
        transact(_deposit_fn(system, intent), system.payer, intent.amount - 1)


def test_deposit_erc20_reverts_when_native_value_is_sent_along(system):
    intent = system.intent("escrow")
    with reverts("WrongValue", 0, 1):
        deposit(system, intent, value=1)


def test_deposit_reverts_when_paused(system):
    intent = system.intent("escrow")
    send(system.usdc.functions.approve(system.escrow.address, intent.amount), system.payer)
    send(system.escrow.functions.pause(), system.owner)
    with reverts("EnforcedPause"):
        transact(_deposit_fn(system, intent), system.payer)


def test_replayed_first_deposit_of_a_new_id_with_a_used_nonce_reverts_nonce_already_used(system):
    first = open_escrow(system)
    second = system.intent("escrow", nonce=first.nonce)
    with reverts("NonceAlreadyUsed", first.nonce):
        deposit(system, second)


def test_deposit_after_void_reverts_escrow_not_open(system):
    intent = system.intent("escrow", allow_partial=True, payer=system.payer)
    deposit(system, intent, 1_000)
    send_as(system.escrow.functions.void(intent.as_tuple()), system.chain.relayer)
    with reverts("EscrowNotOpen", intent.id, Status.VOIDED):
        deposit(system, intent, 1_000)


def test_deposit_above_uint120_reverts_amount_too_large(system):
    amount = 2**120
    intent = system.intent("escrow", amount=amount)
    with reverts("AmountTooLarge", amount):
        transact(_deposit_fn(system, intent), system.payer)


def test_largest_uint120_intent_is_accepted(system):
    amount = 2**120 - 1
    send(system.usdc.functions.mint(system.payer, amount), system.owner)
    intent = system.intent("escrow", amount=amount)
    deposit(system, intent)
    assert capturable(system, intent) == amount


def test_partial_intent_above_uint120_is_refused_before_any_deposit(system):
    # Partial deposits could otherwise sum past the escrow's 120-bit counters: the intent's amount,
    # which bounds every total, is what gets checked.
    huge = 2**120 + 10
    send(system.usdc.functions.mint(system.payer, huge), system.owner)
    intent = system.intent("escrow", amount=huge, allow_partial=True, payer=system.payer)
    before = system.balance(system.usdc, system.escrow.address)
    with reverts("AmountTooLarge", huge):
        transact(_deposit_fn(system, intent, 2**120 - 1), system.payer)
    assert system.balance(system.usdc, system.escrow.address) == before
    assert escrow_state(system, intent)["status"] == Status.NONE
    assert system.escrow.functions.isNonceUsed(intent.nonce).call() is False


def test_get_escrow_of_an_unknown_intent_is_all_zero_but_its_key(system):
    intent = system.intent("escrow")
    state = escrow_state(system, intent)
    assert state == {
        "key": struct_hash(system, held(system, intent)),
        "payer": ZERO,
        "status": Status.NONE,
        "deposited": 0,
        "captured": 0,
        "refunded": 0,
        "released": 0,
    }
    assert capturable(system, intent) == 0
