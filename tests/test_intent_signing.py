"""The API's fast intent signer gives exactly the bytes of the reference signer (eth-account)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.chain.intents import ContractKind, PaymentIntent, Split, sign_intent
from sluice.intents.signing import sign_payment_intent

KEY = bytes.fromhex("55" * 32)
MAX_UINT256 = (1 << 256) - 1

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
uints = st.one_of(st.integers(0, 2**64), st.integers(0, MAX_UINT256), st.sampled_from([0, MAX_UINT256]))
intents = st.builds(
    PaymentIntent,
    id=st.binary(min_size=32, max_size=32),
    nonce=uints,
    token=st.one_of(addresses, st.just("0x0000000000000000000000000000000000000000")),
    amount=uints,
    payer=addresses,
    deadline=uints,
    merchant=st.one_of(addresses, addresses.map(str.upper).map(lambda a: "0x" + a[2:])),
    splits=st.lists(st.builds(Split, recipient=addresses, bps=st.integers(0, 65535)), max_size=5).map(tuple),
    reclaim_after=uints,
    allow_partial=st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(
    intent=intents,
    chain_id=st.one_of(st.sampled_from([1, 31337, 11155111, 8453]), st.integers(0, 2**64)),
    contract=addresses,
    kind=st.sampled_from(["payments", "escrow"]),
    key=st.one_of(st.just(KEY), st.integers(1, 2**255).map(lambda k: k.to_bytes(32, "big"))),
)
def test_same_signature_as_eth_account(
    intent: PaymentIntent, chain_id: int, contract: str, kind: ContractKind, key: bytes
) -> None:
    expected = sign_intent(intent, key, chain_id=chain_id, contract=contract, kind=kind)
    assert sign_payment_intent(intent, key, chain_id=chain_id, contract=contract, kind=kind) == expected


def test_signature_recovers_to_the_operator() -> None:
    from eth_account.messages import encode_typed_data

    from sluice.chain.intents import typed_data

    intent = PaymentIntent(
        id=os.urandom(32),
        nonce=7,
        token="0x" + "33" * 20,
        amount=25_000_000,
        payer="0x" + "00" * 20,
        deadline=1_900_000_000,
        merchant="0x" + "ab" * 20,
        splits=(Split("0x" + "44" * 20, 100),),
    )
    contract = "0x" + "11" * 20
    signature = sign_payment_intent(intent, KEY, chain_id=31337, contract=contract, kind="payments")
    message = encode_typed_data(
        full_message=typed_data(intent, chain_id=31337, contract=contract, kind="payments")
    )
    assert Account.recover_message(message, signature=signature) == Account.from_key(KEY).address


@pytest.mark.parametrize(
    "change",
    [
        {"amount": -1},
        {"nonce": 1 << 256},
        {"token": "0x1234"},
        {"payer": "not an address"},
        {"splits": (Split("0x" + "44" * 20, 70_000),)},
        {"id": b"short"},
    ],
)
def test_values_out_of_range_fail_as_with_eth_account(change: dict[str, Any]) -> None:
    """What the direct encoding does not take goes to the reference signer, errors included."""
    base = PaymentIntent(
        id=bytes(32),
        nonce=1,
        token="0x" + "33" * 20,
        amount=1,
        payer="0x" + "00" * 20,
        deadline=1,
        merchant="0x" + "ab" * 20,
    )
    intent = PaymentIntent(**{**base.__dict__, **change})
    expected: object
    got: object
    try:
        expected = sign_intent(intent, KEY, chain_id=1, contract="0x" + "11" * 20, kind="payments")
    except Exception as exc:
        expected = type(exc)
    try:
        got = sign_payment_intent(intent, KEY, chain_id=1, contract="0x" + "11" * 20, kind="payments")
    except Exception as exc:
        got = type(exc)
    assert got == expected


def test_key_as_text_is_signed_by_the_reference_signer() -> None:
    intent = PaymentIntent(
        id=bytes(32), nonce=1, token="0x" + "33" * 20, amount=1, payer="0x" + "00" * 20, deadline=1,
        merchant="0x" + "ab" * 20,
    )  # fmt: skip
    contract = "0x" + "11" * 20
    expected = sign_intent(intent, KEY, chain_id=1, contract=contract, kind="escrow")
    assert (
        sign_payment_intent(intent, "0x" + KEY.hex(), chain_id=1, contract=contract, kind="escrow")
        == expected
    )


def test_native_and_coincurve_backends_agree() -> None:
    """Signatures are deterministic (RFC 6979, low s) whichever secp256k1 backend eth-keys uses."""
    pytest.importorskip("coincurve")
    from eth_keys.backends import CoinCurveECCBackend, NativeECCBackend
    from eth_keys.datatypes import PrivateKey

    native = PrivateKey(KEY, backend=NativeECCBackend())
    fast = PrivateKey(KEY, backend=CoinCurveECCBackend())
    for _ in range(50):
        digest = os.urandom(32)
        assert native.sign_msg_hash(digest).to_bytes() == fast.sign_msg_hash(digest).to_bytes()
