"""EIP-681 URIs and QR codes for the checkout page (no chain needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sluice.chain.intents import ZERO_ADDRESS, PaymentIntent
from sluice.chain.payment_uri import eip681_uri, qr_svg
from sluice.chain.registry import NetworkConfig, Registry
from sluice.errors import SluiceValueError

PAYMENTS = "0x6A2bc33a10bDE0a691216f90EEb1555e1f88f537"
ESCROW = "0x333EAb1fEa47686aEd4c9264d5C847fBe32e2DA1"
BASE_USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"


@pytest.fixture
def base(tmp_path: Path) -> NetworkConfig:
    contracts = {"SluicePayments": {"address": PAYMENTS}, "SluiceEscrow": {"address": ESCROW}}
    (tmp_path / "base.json").write_text(json.dumps({"chain_id": 8453, "contracts": contracts}))
    return Registry.load(deployments=tmp_path, environ={}).network("base")


def intent(token: str, amount: int) -> PaymentIntent:
    return PaymentIntent(
        id=b"\x01" * 32,
        nonce=1,
        token=token,
        amount=amount,
        payer=ZERO_ADDRESS,
        deadline=2**32,
        merchant=ESCROW,
    )


def test_token_payment_uri_is_the_eip681_approve_of_the_contract(base: NetworkConfig) -> None:
    uri = eip681_uri(base, intent(BASE_USDC, 25_500_000), base.asset("USDC"))
    assert uri == f"ethereum:{BASE_USDC}@8453/approve?address={PAYMENTS}&uint256=25500000"
    escrow_uri = eip681_uri(base, intent(BASE_USDC, 1), base.asset("USDC"), kind="escrow")
    assert escrow_uri == f"ethereum:{BASE_USDC}@8453/approve?address={ESCROW}&uint256=1"


def test_native_payment_has_no_eip681_uri(base: NetworkConfig) -> None:
    """pay(intent, signature) cannot be expressed in EIP-681, and a bare value transfer would be lost."""
    assert eip681_uri(base, intent(ZERO_ADDRESS, 10**18), base.asset("ETH")) is None


def test_asset_must_be_the_intents_token(base: NetworkConfig) -> None:
    with pytest.raises(SluiceValueError, match="not USDC"):
        eip681_uri(base, intent(ZERO_ADDRESS, 1), base.asset("USDC"))


def test_qr_svg_is_an_inline_svg_document() -> None:
    svg = qr_svg("https://pay.example.com/c/pi_123")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg
    assert qr_svg("https://pay.example.com/c/pi_123") == svg  # deterministic
    assert qr_svg("https://pay.example.com/c/pi_124") != svg
