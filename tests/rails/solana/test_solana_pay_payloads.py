"""The split rule, Solana Pay transfer-request URLs and the transaction-request payloads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from sluice.errors import InvalidRequestError, SluiceValueError, UnknownNetworkError
from sluice.rails.base import Terms
from sluice.rails.solana.networks import LOCAL_USDC_MINT, check_mode, get_solana_network
from sluice.rails.solana.payment import payment_from_intent, split_amounts
from sluice.rails.solana.rail import SolanaRail
from sluice.rails.solana.solana_pay import (
    transaction_request_account,
    transaction_request_metadata,
    transaction_request_response,
    transaction_request_url,
    transfer_request_url,
)
from sluice.rails.solana.transaction import associated_token_account

from solana_fixtures import make_payment


@given(st.integers(1, 10**30), st.lists(st.integers(0, 2_000), max_size=4))
def test_split_amounts_add_up_and_round_splits_down(amount: int, bps: list[int]) -> None:
    merchant, fees = split_amounts(amount, bps)
    assert merchant + sum(fees) == amount
    assert all(fee == amount * b // 10_000 for fee, b in zip(fees, bps, strict=True))


def test_legs_pay_merchant_first_and_drop_zero_legs() -> None:
    merchant, platform, tiny = (Keypair().pubkey() for _ in range(3))
    payment = make_payment(merchant, amount=1_000_001, splits=((platform, 250), (tiny, 0)))
    legs = payment.legs()
    assert [(leg.recipient, leg.amount) for leg in legs] == [
        (str(merchant), 975_001),
        (str(platform), 25_000),
    ]


def test_transfer_request_url_for_usdc() -> None:
    merchant = Keypair().pubkey()
    payment = make_payment(merchant, amount=25_500_000, intent_id="pi_abc")
    url = transfer_request_url(payment, label="Shop & Co")
    parts = urlsplit(url)
    assert parts.scheme == "solana" and parts.path == str(merchant)
    query = parse_qs(parts.query)
    assert query["amount"] == ["25.5"]
    assert query["spl-token"] == [LOCAL_USDC_MINT]
    assert query["reference"] == [str(payment.reference_key)]
    assert query["memo"] == ["pi_abc"]
    assert query["label"] == ["Shop & Co"]


def test_transfer_request_url_for_sol_has_no_exponent_and_no_token() -> None:
    payment = make_payment(Keypair().pubkey(), asset="SOL", amount=1)
    query = parse_qs(urlsplit(transfer_request_url(payment)).query)
    assert query["amount"] == ["0.000000001"]
    assert "spl-token" not in query


def test_transfer_request_refuses_intents_with_splits() -> None:
    payment = make_payment(Keypair().pubkey(), splits=((Keypair().pubkey(), 100),))
    with pytest.raises(SluiceValueError, match="transaction request"):
        transfer_request_url(payment)


def test_transaction_request_url_encodes_queries() -> None:
    assert (
        transaction_request_url("https://pay.example/v1/solana/pi_1")
        == "solana:https://pay.example/v1/solana/pi_1"
    )
    link = transaction_request_url("https://pay.example/tx?intent=pi_1&x=y")
    assert (
        link.startswith("solana:https%3A%2F%2F")
        and unquote(link[7:]) == "https://pay.example/tx?intent=pi_1&x=y"
    )
    with pytest.raises(SluiceValueError):
        transaction_request_url("http://pay.example/tx")


def test_transaction_request_payloads() -> None:
    assert transaction_request_metadata("Sluice", "https://pay.example/icon.svg") == {
        "label": "Sluice",
        "icon": "https://pay.example/icon.svg",
    }
    with pytest.raises(SluiceValueError):
        transaction_request_metadata("Sluice", "https://pay.example/icon.gif")
    payer = Keypair().pubkey()
    assert transaction_request_account({"account": str(payer)}) == str(payer)
    with pytest.raises(InvalidRequestError) as info:
        transaction_request_account({"acount": str(payer)})
    assert info.value.param == "account"
    assert transaction_request_response("AQ==", "Paid to Shop") == {
        "transaction": "AQ==",
        "message": "Paid to Shop",
    }
    assert transaction_request_response("AQ==", None) == {"transaction": "AQ=="}


def test_payment_from_a_stored_intent() -> None:
    merchant, platform = Keypair().pubkey(), Keypair().pubkey()
    intent = SimpleNamespace(
        id="pi_1",
        network="solana-local",
        asset="usdc",
        amount=10_000_000,
        payout_address=str(merchant),
        splits=[{"recipient": str(platform), "bps": 100, "kind": "platform"}],
        onchain_id=bytes(range(32)),
        expires_at=None,
        description="Order 42",
    )
    payment = payment_from_intent(intent)
    assert payment.mint == LOCAL_USDC_MINT and payment.decimals == 6
    assert bytes(payment.reference_key) == bytes(range(32))
    assert payment.expected_by_recipient() == {str(merchant): 9_900_000, str(platform): 100_000}
    intent.payout_address = "0x52908400098527886E0F7030069857D2E4169EE7"
    with pytest.raises(InvalidRequestError) as info:
        payment_from_intent(intent)
    assert info.value.param == "payout_address"


def test_networks_and_modes() -> None:
    assert (
        get_solana_network("solana").asset("USDC").address == "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    )
    assert (
        get_solana_network("solana-devnet").asset("USDC").address
        == "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU"
    )
    assert get_solana_network("solana-local").asset("SOL").decimals == 9
    with pytest.raises(UnknownNetworkError):
        get_solana_network("solana-testnet")
    check_mode(get_solana_network("solana"), livemode=True)
    check_mode(get_solana_network("solana-local"), livemode=False)
    with pytest.raises(InvalidRequestError, match="test network"):
        check_mode(get_solana_network("solana-devnet"), livemode=True)
    with pytest.raises(InvalidRequestError, match="live network"):
        check_mode(get_solana_network("solana"), livemode=False)


async def test_authorize_binds_a_random_reference_and_the_receiving_account() -> None:
    merchant = Keypair().pubkey()
    terms = Terms(
        network="solana-local",
        capture_method="automatic",
        token=LOCAL_USDC_MINT,
        amount=5_000_000,
        payer=None,
        payout_address=str(merchant),
        splits=[{"recipient": str(Keypair().pubkey()), "bps": 100, "kind": "platform"}],
        deadline=datetime.now(UTC),
        reclaim_after=None,
        allow_partial=False,
    )
    rail = SolanaRail()
    first, second = await rail.authorize(terms), await rail.authorize(terms)
    assert len(first.intent_ref) == 32 and first.intent_ref != second.intent_ref
    assert first.source == str(associated_token_account(merchant, Pubkey.from_string(LOCAL_USDC_MINT)))
    assert (first.nonce, first.signature) == (0, b"")
    sol = await rail.authorize(replace(terms, token=None))
    assert sol.source == str(merchant)
    with pytest.raises(InvalidRequestError) as info:
        await rail.authorize(replace(terms, capture_method="manual"))
    assert info.value.code == "capture_method_unsupported"
    with pytest.raises(InvalidRequestError) as info:
        await rail.authorize(replace(terms, token="EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"))
    assert info.value.param == "asset"  # the mainnet mint is not payable on the local cluster
