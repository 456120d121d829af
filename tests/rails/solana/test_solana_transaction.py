"""The payer's transaction, executed by LiteSVM (the real SVM with the SPL programs, in process)."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.token.constants import TOKEN_PROGRAM_ID

from sluice.rails.solana.devchain.cluster import ClusterError, LocalCluster
from sluice.rails.solana.devchain.server import RpcHandler
from sluice.rails.solana.networks import LOCAL_USDC_MINT
from sluice.rails.solana.observe import ObservedTransaction, validate_transfer
from sluice.rails.solana.transaction import (
    associated_token_account,
    build_transaction,
    decode_transaction,
    encode_transaction,
)

from solana_fixtures import make_payment, usdc_balance

MINT = Pubkey.from_string(LOCAL_USDC_MINT)


def sign_and_send(cluster: LocalCluster, wire: str, payer: Keypair) -> str:
    """What a wallet does: decode the base64 it was given, add its signature, send."""
    tx = decode_transaction(wire)
    tx.partial_sign([payer], tx.message.recent_blockhash)
    return cluster.send(bytes(tx))


def test_usdc_payment_pays_merchant_and_splits_and_creates_missing_token_accounts(
    cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    payer = keys["payer"]
    merchant, platform, partner = Keypair().pubkey(), Keypair().pubkey(), Keypair().pubkey()
    payment = make_payment(merchant, amount=123_456_789, splits=((platform, 250), (partner, 33)))
    before = usdc_balance(cluster, payer.pubkey())
    assert cluster.svm.get_account(associated_token_account(merchant, MINT)) is None

    tx = build_transaction(payment, payer.pubkey(), cluster.svm.latest_blockhash())
    sign_and_send(cluster, encode_transaction(tx), payer)

    fee_platform, fee_partner = 123_456_789 * 250 // 10_000, 123_456_789 * 33 // 10_000
    assert usdc_balance(cluster, platform) == fee_platform == 3_086_419
    assert usdc_balance(cluster, partner) == fee_partner == 407_407
    assert usdc_balance(cluster, merchant) == 123_456_789 - fee_platform - fee_partner
    assert usdc_balance(cluster, payer.pubkey()) == before - 123_456_789


def test_sol_payment_pays_merchant_and_split_exactly(cluster: LocalCluster, keys: dict[str, Keypair]) -> None:
    payer, merchant, platform = keys["payer"], keys["merchant"].pubkey(), keys["platform"].pubkey()
    payment = make_payment(merchant, asset="SOL", amount=2_000_000_001, splits=((platform, 100),))
    m0, p0 = cluster.svm.get_balance(merchant), cluster.svm.get_balance(platform)
    payer0 = cluster.svm.get_balance(payer.pubkey())
    sign_and_send(
        cluster,
        encode_transaction(build_transaction(payment, payer.pubkey(), cluster.svm.latest_blockhash())),
        payer,
    )
    assert cluster.svm.get_balance(platform) - p0 == 20_000_000
    assert cluster.svm.get_balance(merchant) - m0 == 1_980_000_001
    assert (
        payer0 - cluster.svm.get_balance(payer.pubkey()) == 2_000_000_001 + 5_000
    )  # amount + one signature's fee


def test_a_failing_split_fails_the_whole_payment(cluster: LocalCluster, keys: dict[str, Keypair]) -> None:
    payer = Keypair()
    cluster.svm.airdrop(payer.pubkey(), 10**9)
    merchant, platform = Keypair().pubkey(), Keypair().pubkey()
    payment = make_payment(merchant, amount=10_000_000, splits=((platform, 500),))
    cluster.mint_usdc(payer.pubkey(), 9_500_000)  # enough for the merchant's leg, not for the split
    tx = build_transaction(payment, payer.pubkey(), cluster.svm.latest_blockhash())
    with pytest.raises(ClusterError, match="simulation failed"):
        sign_and_send(cluster, encode_transaction(tx), payer)
    # The merchant's transfer (and its token account's creation) ran first and was rolled back.
    assert cluster.svm.get_account(associated_token_account(merchant, MINT)) is None
    assert usdc_balance(cluster, payer.pubkey()) == 9_500_000


def test_transaction_is_unsigned_with_payer_as_fee_payer_reference_and_memo(keys: dict[str, Keypair]) -> None:
    payer, merchant = keys["payer"].pubkey(), Keypair().pubkey()
    payment = make_payment(merchant, intent_id="pi_memo", splits=((Keypair().pubkey(), 100),))
    blockhash = LocalCluster().svm.latest_blockhash()
    tx = decode_transaction(encode_transaction(build_transaction(payment, payer, blockhash)))
    message = tx.message
    assert message.recent_blockhash == blockhash
    assert message.account_keys[0] == payer and message.header.num_required_signatures == 1
    assert tx.signatures == [Signature.default()]
    keys_ = message.account_keys
    programs = [keys_[ix.program_id_index] for ix in message.instructions]
    assert programs[0] == MEMO_PROGRAM_ID and bytes(message.instructions[0].data) == b"pi_memo"
    transfers = [ix for ix in message.instructions if keys_[ix.program_id_index] == TOKEN_PROGRAM_ID]
    assert len(transfers) == 2
    reference = payment.reference_key
    ref_index = keys_.index(reference)
    assert ref_index in bytes(transfers[0].accounts)  # on the merchant's transferChecked
    readonly_from = len(keys_) - message.header.num_readonly_unsigned_accounts
    assert not message.is_signer(ref_index) and ref_index >= readonly_from  # read-only, not a signer


def test_operator_sponsored_fee_leaves_payer_sol_untouched(
    cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    payer, operator = keys["payer2"], keys["operator"]
    merchant = Keypair().pubkey()
    payment = make_payment(merchant, amount=5_000_000)
    tx = build_transaction(payment, payer.pubkey(), cluster.svm.latest_blockhash(), fee_payer=operator)
    assert tx.message.account_keys[0] == operator.pubkey() and tx.signatures[0] != Signature.default()
    lamports, operator0 = cluster.svm.get_balance(payer.pubkey()), cluster.svm.get_balance(operator.pubkey())
    signature = sign_and_send(cluster, encode_transaction(tx), payer)
    assert usdc_balance(cluster, merchant) == 5_000_000
    assert cluster.svm.get_balance(payer.pubkey()) == lamports
    rent = cluster.svm.minimum_balance_for_rent_exemption(165)
    assert operator0 - cluster.svm.get_balance(operator.pubkey()) == 2 * 5_000 + rent
    # The validation reports the operator's cost, and the payer is still the payer.
    observed = ObservedTransaction.parse(
        RpcHandler(cluster).get_transaction([signature, {"encoding": "base64"}])
    )
    validation = validate_transfer(payment, observed, operator=str(operator.pubkey()))
    assert validation.operator_cost == 2 * 5_000 + rent and validation.payer == str(payer.pubkey())
    assert validate_transfer(payment, observed).operator_cost is None


def test_the_payer_cannot_send_without_signing(cluster: LocalCluster, keys: dict[str, Keypair]) -> None:
    payment = make_payment(Keypair().pubkey())
    tx = build_transaction(payment, keys["payer"].pubkey(), cluster.svm.latest_blockhash())
    with pytest.raises(ClusterError):
        cluster.send(bytes(tx))
    assert isinstance(tx, Transaction)


def test_priority_fee_requests_a_sized_compute_budget_and_costs_what_it_says(
    cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    from solders.compute_budget import ID as COMPUTE_BUDGET_ID

    from sluice.rails.solana.transaction import compute_unit_limit, priority_fee

    payer, merchant, platform = keys["payer"], Keypair().pubkey(), keys["platform"].pubkey()
    payment = make_payment(merchant, amount=3_000_000, splits=((platform, 100),))
    tx = build_transaction(
        payment, payer.pubkey(), cluster.svm.latest_blockhash(), priority_micro_lamports=50_000
    )
    message = tx.message
    programs = [message.account_keys[ix.program_id_index] for ix in message.instructions]
    assert programs[:2] == [COMPUTE_BUDGET_ID, COMPUTE_BUDGET_ID] and programs[2] == MEMO_PROGRAM_ID
    assert compute_unit_limit(payment) == 1_000 + 30_000 + 2 * 50_000
    lamports = cluster.svm.get_balance(payer.pubkey())
    signature = sign_and_send(cluster, encode_transaction(tx), payer)
    meta = RpcHandler(cluster).get_transaction([signature, {"encoding": "base64"}])["meta"]  # type: ignore[index]
    assert meta["fee"] == 5_000 + priority_fee(payment, 50_000) == 5_000 + 6_550
    rent = cluster.svm.minimum_balance_for_rent_exemption(165)
    # The merchant's and the platform's token accounts are both new: the payer funds both.
    assert lamports - cluster.svm.get_balance(payer.pubkey()) == meta["fee"] + 2 * rent
    assert usdc_balance(cluster, merchant) == 2_970_000
