"""Base58 address validation: wallets on the curve, clear errors for everything else."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from sluice.rails.solana.addresses import (
    InvalidSolanaAddressError,
    canonical_wallet,
    parse_pubkey,
    parse_wallet,
)
from sluice.rails.solana.networks import LOCAL_USDC_MINT, MAINNET_USDC_MINT
from sluice.rails.solana.rail import SolanaRail


def test_wallet_address_round_trips() -> None:
    key = Keypair().pubkey()
    assert canonical_wallet(f"  {key}  ") == str(key)
    assert SolanaRail().validate_address(str(key)) == str(key)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0x52908400098527886E0F7030069857D2E4169EE7",  # an EVM address
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1l",  # 'l' is not base58
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1vX",  # 45 characters
        "1111111111111111111111111111111",  # 31 characters
        "z" * 44,  # base58 but more than 32 bytes
    ],
)
def test_rejects_what_is_not_a_base58_public_key(bad: str) -> None:
    with pytest.raises(InvalidSolanaAddressError) as info:
        parse_pubkey(bad, param="payout_address")
    assert info.value.param == "payout_address"
    assert info.value.http_status == 400


def test_rejects_program_derived_address_as_wallet() -> None:
    pda, _bump = Pubkey.find_program_address([b"sluice"], Pubkey.from_string(LOCAL_USDC_MINT))
    assert parse_pubkey(str(pda)) == pda  # a fine account key (a reference, a mint)…
    with pytest.raises(InvalidSolanaAddressError, match="program-derived"):
        parse_wallet(str(pda), param="payer")  # …but it cannot sign or own an ATA


def test_mints_parse_as_keys() -> None:
    assert str(parse_pubkey(MAINNET_USDC_MINT)) == MAINNET_USDC_MINT


def test_the_solana_rail_is_a_rail() -> None:
    from sluice.rails.base import Rail

    rail = SolanaRail()
    assert isinstance(rail, Rail)
    assert (rail.name, rail.family) == ("solana-pay", "solana")
    finality = rail.finality("solana")
    assert finality.kind == "commitment" and finality.commitment == "finalized"
