"""c32check addresses, Clarity serialization and SIP-018 hashing, compared with @stacks/transactions
(the reference implementation) on generated inputs, plus decoding round trips and bad input."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stacks_helpers import CONTRACT, DEPLOYER, needs_node, reference

from sluice.rails.stacks import clarity as cl
from sluice.rails.stacks.c32 import (
    InvalidStacksAddressError,
    address_from_public_key,
    c32_address,
    parse_address,
    parse_principal,
)
from sluice.rails.stacks.sip018 import domain, public_key, structured_data_hash

VERSIONS = [22, 20, 26, 21]

hash160s = st.binary(min_size=20, max_size=20) | st.sampled_from([b"\0" * 20, b"\0\0\1" + b"\xff" * 17])
addresses = st.builds(c32_address, st.sampled_from(VERSIONS), hash160s)
contract_names = st.from_regex(r"[a-z][a-z0-9\-_]{0,39}", fullmatch=True)
principals = addresses | st.builds(lambda a, n: f"{a}.{n}", addresses, contract_names)


def _leaf() -> st.SearchStrategy[tuple[cl.ClarityValue, dict[str, Any]]]:
    return st.one_of(
        st.integers(0, 2**128 - 1).map(lambda v: (cl.UInt(v), {"type": "uint", "value": str(v)})),
        st.integers(-(2**127), 2**127 - 1).map(lambda v: (cl.Int(v), {"type": "int", "value": str(v)})),
        st.binary(max_size=40).map(lambda v: (cl.Buffer(v), {"type": "buff", "value": v.hex()})),
        st.booleans().map(lambda v: (cl.Bool(v), {"type": "bool", "value": v})),
        st.just((cl.NoneValue(), {"type": "none"})),
        principals.map(lambda v: (cl.Principal(v), {"type": "principal", "value": v})),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(
            lambda v: (cl.StringAscii(v), {"type": "ascii", "value": v})
        ),
        st.text(max_size=10).map(lambda v: (cl.StringUtf8(v), {"type": "utf8", "value": v})),
    )


def _extend(
    children: st.SearchStrategy[tuple[cl.ClarityValue, dict[str, Any]]],
) -> st.SearchStrategy[tuple[cl.ClarityValue, dict[str, Any]]]:
    keys = st.from_regex(r"[a-z][a-z\-]{0,8}", fullmatch=True)
    return st.one_of(
        children.map(lambda c: (cl.Some(c[0]), {"type": "some", "value": c[1]})),
        children.map(lambda c: (cl.Ok(c[0]), {"type": "ok", "value": c[1]})),
        children.map(lambda c: (cl.Err(c[0]), {"type": "err", "value": c[1]})),
        st.lists(children, max_size=4).map(
            lambda cs: (cl.list_of([c[0] for c in cs]), {"type": "list", "value": [c[1] for c in cs]})
        ),
        st.dictionaries(keys, children, max_size=4).map(
            lambda d: (
                cl.Tuple({k: v[0] for k, v in d.items()}),
                {"type": "tuple", "value": {k: v[1] for k, v in d.items()}},
            )
        ),
    )


values = st.recursive(_leaf(), _extend, max_leaves=8)


@needs_node
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.lists(st.tuples(st.sampled_from(VERSIONS), hash160s), min_size=200, max_size=200),
    st.lists(values, min_size=300, max_size=300),
)
def test_addresses_and_values_encode_as_stacks_transactions_does(
    address_inputs: list[tuple[int, bytes]], value_pairs: list[tuple[cl.ClarityValue, dict[str, Any]]]
) -> None:
    """One node call checks 200 addresses and 300 nested values (lists of values, not examples:
    starting node per example would cost seconds each)."""
    answer = reference(
        {
            "addresses": [[v, h.hex()] for v, h in address_inputs],
            "values": [d for _, d in value_pairs],
        }
    )
    assert answer["addresses"] == [c32_address(v, h) for v, h in address_inputs]
    assert answer["values"] == [v.serialize().hex() for v, _ in value_pairs]


@needs_node
def test_sip018_hash_matches_stacks_transactions() -> None:
    message = cl.Tuple({"amount": cl.UInt(5), "merchant": cl.Principal(DEPLOYER)})
    dom = domain(0x80000000, CONTRACT)
    describe = {
        "message": {
            "type": "tuple",
            "value": {
                "amount": {"type": "uint", "value": "5"},
                "merchant": {"type": "principal", "value": DEPLOYER},
            },
        },
        "domain": {
            "type": "tuple",
            "value": {
                "name": {"type": "ascii", "value": "sluice-payments"},
                "version": {"type": "ascii", "value": "1"},
                "chain-id": {"type": "uint", "value": str(0x80000000)},
                "verifying-contract": {"type": "principal", "value": CONTRACT},
            },
        },
    }
    encoded = bytes.fromhex(reference({"structured": [describe]})["structured"][0])
    assert hashlib.sha256(encoded).digest() == structured_data_hash(message, dom)


@given(values)
def test_deserialize_inverts_serialize(pair: tuple[cl.ClarityValue, dict[str, Any]]) -> None:
    value = pair[0]
    assert cl.deserialize(value.serialize()).serialize() == value.serialize()


@given(addresses)
def test_parse_address_round_trips(address: str) -> None:
    parsed = parse_address(address)
    assert str(parsed) == address
    assert parsed.chain == ("mainnet" if address[1] in "PM" else "testnet")


def test_known_addresses() -> None:
    # The simnet deployer's key is public (Clarinet's devnet mnemonic); its address is well known.
    key = bytes.fromhex("753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601")
    assert address_from_public_key(public_key(key), "testnet") == DEPLOYER
    assert parse_address("SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE").chain == "mainnet"
    address, name = parse_principal("SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token")
    assert (address.chain, name) == ("mainnet", "sbtc-token")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGN", "checksum"),
        ("st1pqhqkv0rjxzfy1dgx8mnsnyve3vgzjsrtpgzgm", "Stacks address"),
        ("SX1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM", "version"),
        ("ST1PQHQKV0RJXZFY1DGX8", "bytes"),
        ("ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGU", "c32 character"),
        ("0x1234", "Stacks address"),
    ],
)
def test_invalid_addresses_are_refused(address: str, reason: str) -> None:
    with pytest.raises(InvalidStacksAddressError, match=reason):
        parse_address(address)


def test_address_of_the_wrong_chain_is_refused() -> None:
    with pytest.raises(InvalidStacksAddressError, match="testnet address, expected mainnet"):
        parse_address(DEPLOYER, "mainnet")
    with pytest.raises(InvalidStacksAddressError, match="contract name"):
        parse_principal(f"{DEPLOYER}.9bad")


@pytest.mark.parametrize(
    "data", [b"", b"\x01\x00", b"\x63", b"\x0b\x00\x00\x00\x02\x03", b"\x03\x03", b"\x02\x00\x00\x00\x05ab"]
)
def test_malformed_clarity_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(cl.ClarityDecodeError):
        cl.deserialize(data)


def test_uint_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="uint"):
        cl.UInt(2**128).serialize()
    with pytest.raises(ValueError, match="uint"):
        cl.UInt(-1).serialize()
