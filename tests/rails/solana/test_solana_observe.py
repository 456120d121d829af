"""Judging observed transactions like Solana Pay's validateTransfer: from balance changes, never
instruction data; tampered payments are recorded, announced as what they are, and credit nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction

from sluice.ledger.entries import EntryKind
from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.devchain.server import RpcHandler
from sluice.rails.solana.observe import ObservedTransaction, PaymentVerdict, validate_transfer
from sluice.rails.solana.payment import SolanaPayment
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.solana.transaction import payment_instructions
from sluice.rails.solana.watcher import ReferenceWatcher

from solana_fixtures import make_payment


def send(cluster: LocalCluster, payer: Keypair, instructions: list[Instruction]) -> dict[str, Any]:
    """Sign and execute `instructions`; the getTransaction answer of the local node."""
    blockhash = cluster.svm.latest_blockhash()
    tx = Transaction([payer], Message.new_with_blockhash(instructions, payer.pubkey(), blockhash), blockhash)
    signature = cluster.send(bytes(tx))
    result = RpcHandler(cluster).get_transaction([signature, {"encoding": "base64"}])
    assert result is not None
    return result


def pay_as(
    cluster: LocalCluster, payer: Keypair, asked: SolanaPayment, paid: SolanaPayment
) -> ObservedTransaction:
    """The payer sends what `paid` describes (same reference and memo unless changed) for `asked`."""
    return ObservedTransaction.parse(
        send(cluster, payer, payment_instructions(paid, payer.pubkey(), payer.pubkey()))
    )


@pytest.fixture
def asked(keys: dict[str, Keypair]) -> SolanaPayment:
    return make_payment(Keypair().pubkey(), amount=10_000_000, splits=((keys["platform"].pubkey(), 300),))


def test_exact_payment_becomes_a_received_entry(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    tx = pay_as(cluster, keys["payer"], asked, asked)
    validation = validate_transfer(asked, tx)
    assert validation.verdict == PaymentVerdict.paid and not validation.late
    [entry] = SolanaRail().decode(
        "solana-local", [(asked, RpcHandler(cluster).get_transaction([tx.signature, {"encoding": "base64"}]))]
    )
    assert entry.kind == EntryKind.received and entry.rail == "solana-pay"
    assert entry.intent_ref == asked.reference and entry.tx_id == tx.signature
    assert (
        entry.amount == 10_000_000 and entry.merchant_amount == 9_700_000 and entry.fee_amounts == (300_000,)
    )
    assert entry.payer == str(keys["payer"].pubkey())
    assert entry.asset == asked.mint and entry.position.height == tx.slot > 0


def test_split_removed_is_recorded_and_credits_nothing(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    everything_to_merchant = dataclasses.replace(asked, splits=())
    validation = validate_transfer(asked, pay_as(cluster, keys["payer"], asked, everything_to_merchant))
    assert validation.verdict == PaymentVerdict.split_mismatch
    assert validation.credited == 0 and validation.received[asked.merchant] == 10_000_000


def test_amount_lowered_proportionally_is_an_underpayment(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    validation = validate_transfer(
        asked, pay_as(cluster, keys["payer"], asked, dataclasses.replace(asked, amount=4_000_000))
    )
    assert validation.verdict == PaymentVerdict.underpaid and validation.credited == 4_000_000


def test_split_lowered_alone_is_a_split_mismatch(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    cheaper = dataclasses.replace(asked, splits=(dataclasses.replace(asked.splits[0], bps=200),))
    validation = validate_transfer(asked, pay_as(cluster, keys["payer"], asked, cheaper))
    assert validation.verdict == PaymentVerdict.split_mismatch and validation.credited == 0


def test_overpayment_is_credited_in_full(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    validation = validate_transfer(
        asked, pay_as(cluster, keys["payer"], asked, dataclasses.replace(asked, amount=12_000_000))
    )
    assert validation.verdict == PaymentVerdict.overpaid and validation.credited == 12_000_000


def test_another_mint_is_a_wrong_asset(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    fake_mint, authority = Keypair(), Keypair()
    cluster.create_mint(fake_mint, authority, 6)
    cluster.mint_to(fake_mint.pubkey(), authority, keys["payer"].pubkey(), 10**12)
    validation = validate_transfer(
        asked, pay_as(cluster, keys["payer"], asked, dataclasses.replace(asked, mint=str(fake_mint.pubkey())))
    )
    assert validation.verdict == PaymentVerdict.wrong_asset and validation.credited == 0


def test_sol_instead_of_usdc_is_a_wrong_asset(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    sol = dataclasses.replace(asked, mint=None, decimals=9, asset="SOL")
    validation = validate_transfer(asked, pay_as(cluster, keys["payer"], asked, sol))
    assert validation.verdict == PaymentVerdict.wrong_asset and validation.credited == 0


def test_another_memo_is_a_memo_mismatch(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    validation = validate_transfer(
        asked, pay_as(cluster, keys["payer"], asked, dataclasses.replace(asked, intent_id="pi_other"))
    )
    assert validation.verdict == PaymentVerdict.memo_mismatch and validation.credited == 0


def test_payment_after_expiry_is_recorded_as_late(cluster: LocalCluster, keys: dict[str, Keypair]) -> None:
    expired = make_payment(Keypair().pubkey(), amount=1_000_000, expires_in=-timedelta(minutes=1))
    validation = validate_transfer(expired, pay_as(cluster, keys["payer"], expired, expired))
    assert validation.late and validation.verdict == PaymentVerdict.paid and validation.credited == 1_000_000


def test_one_transaction_referencing_two_intents_credits_neither(
    cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    merchant = Keypair().pubkey()
    first = make_payment(merchant, amount=1_000_000, intent_id="pi_a")
    second = dataclasses.replace(first, intent_id="pi_b", reference=bytes(reversed(first.reference)))
    instructions = payment_instructions(first, keys["payer"].pubkey(), keys["payer"].pubkey())
    last = instructions[-1]
    from solders.instruction import AccountMeta

    instructions[-1] = Instruction(
        last.program_id, last.data, [*last.accounts, AccountMeta(second.reference_key, False, False)]
    )
    tx = ObservedTransaction.parse(send(cluster, keys["payer"], instructions))
    watcher = ReferenceWatcher(rpc=None)  # type: ignore[arg-type]  # match() needs no node
    watcher.watch([first, second])
    observations = watcher.match(tx)
    assert {o.payment.intent_id for o in observations} == {"pi_a", "pi_b"}
    assert all(o.validation.verdict == PaymentVerdict.ambiguous_reference for o in observations)
    assert all(o.validation.credited == 0 for o in observations)


def test_failed_transaction_gives_no_entry(
    asked: SolanaPayment, cluster: LocalCluster, keys: dict[str, Keypair]
) -> None:
    result = send(
        cluster, keys["payer"], payment_instructions(asked, keys["payer"].pubkey(), keys["payer"].pubkey())
    )
    result["meta"]["err"] = {"InstructionError": [2, {"Custom": 1}]}
    assert SolanaRail().decode("solana-local", [(asked, result)]) == []


def test_a_repeat_after_full_payment_is_reference_reused_but_a_completing_payment_counts(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    watcher = ReferenceWatcher(rpc=None)  # type: ignore[arg-type]  # match() needs no node
    watcher.watch([asked])
    part = watcher.match(pay_as(cluster, keys["payer"], asked, dataclasses.replace(asked, amount=4_000_000)))
    rest = watcher.match(pay_as(cluster, keys["payer"], asked, dataclasses.replace(asked, amount=6_000_000)))
    again = watcher.match(pay_as(cluster, keys["payer"], asked, asked))
    assert [o.validation.verdict for o in (*part, *rest, *again)] == [
        PaymentVerdict.underpaid,
        PaymentVerdict.underpaid,
        PaymentVerdict.reference_reused,
    ]
    assert [o.validation.credited for o in (*part, *rest, *again)] == [4_000_000, 6_000_000, 0]
    assert again[0].validation.received[asked.merchant] == 9_700_000  # recorded as what it moved
    # After a restart, the stored entries tell the watcher what was credited.
    restarted = ReferenceWatcher(rpc=None)  # type: ignore[arg-type]
    restarted.watch([asked], credited={asked.reference: 10_000_000})
    repeat_tx = pay_as(cluster, keys["payer"], asked, dataclasses.replace(asked, amount=10_000_001))
    [repeat] = restarted.match(repeat_tx)
    assert repeat.validation.verdict == PaymentVerdict.reference_reused


def test_another_payer_than_the_intent_names_is_a_payer_mismatch(
    cluster: LocalCluster, keys: dict[str, Keypair], asked: SolanaPayment
) -> None:
    bound = dataclasses.replace(asked, payer=str(keys["payer2"].pubkey()))
    validation = validate_transfer(bound, pay_as(cluster, keys["payer"], bound, bound))
    assert validation.verdict == PaymentVerdict.payer_mismatch and validation.credited == 0
    assert validation.payer == str(keys["payer"].pubkey())
    right = validate_transfer(bound, pay_as(cluster, keys["payer2"], bound, bound))
    assert right.verdict == PaymentVerdict.paid
