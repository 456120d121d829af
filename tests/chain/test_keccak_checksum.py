"""sluice.chain.hashing against eth_utils, whose values it must reproduce."""

from __future__ import annotations

import os

import pytest
from eth_utils import keccak as eth_keccak
from eth_utils import to_checksum_address

from sluice.chain.hashing import checksum, keccak


def test_keccak_matches_eth_utils():
    for data in (b"", b"abc", os.urandom(7), os.urandom(200)):
        assert keccak(data) == eth_keccak(data)


def test_checksum_matches_eth_utils_in_any_form():
    for _ in range(50):
        address = "0x" + os.urandom(20).hex()
        expected = to_checksum_address(address)
        assert checksum(address) == expected
        assert checksum(address.upper().replace("0X", "0x")) == expected
        assert checksum(address[2:]) == expected
        assert checksum(expected) == expected


@pytest.mark.parametrize("bad", ["", "0x", "0x1234", "0x" + "g" * 40, "0x" + "a" * 41, "a" * 42])
def test_checksum_refuses_what_is_not_an_address(bad):
    with pytest.raises(ValueError, match="not a 20-byte hex address"):
        checksum(bad)
    with pytest.raises(ValueError):
        to_checksum_address(bad)
