"""A merchant's payout addresses, one per chain family, and the EVM address rule.

Merchants are paid out wherever they sell: `{"evm": "0x…", "solana": "<base58 wallet>", "stacks":
"SP…"}`. An intent signs the address of its network's family (`for_family`); a merchant without
one cannot create intents on that family's networks (`payout_address_missing`). Each address is
checked by a rail of its family (`Rails.check_address`: the rule the rail also applies to payers
and splits), so a new chain family brings its own rule with its rail.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from sluice.errors import InvalidRequestError

if TYPE_CHECKING:
    from sluice.rails.registry import Rails

ZERO_ADDRESS = "0x" + "0" * 40


def check_address(value: str, param: str) -> str:
    """An EIP-55 address: mixed-case input must carry a valid checksum. Never the zero address: no one
    holds its key, the contracts refuse it as a payee (`ZeroAddress()`), and as an intent's payer it
    means "anyone may pay", the opposite of what naming a payer asks for."""
    if not is_hex_address(value):
        raise InvalidRequestError(
            f"{param} is not an address: {value!r}", param=param, code="invalid_address"
        )
    if value.lower() == ZERO_ADDRESS:
        raise InvalidRequestError(
            f"{param} is the zero address, which no one controls", param=param, code="invalid_address"
        )
    checked = _eip55(value)
    if checked is None:
        raise InvalidRequestError(
            f"{param} has a bad EIP-55 checksum: {value!r}", param=param, code="invalid_address"
        )
    return checked


@lru_cache(maxsize=4096)
def _eip55(value: str) -> str | None:
    """The checksummed form of a hex address, or None when mixed-case input carries a bad checksum.
    Memoized: each keccak costs tens of µs in Python, and fee recipients and payers recur."""
    if (
        value != value.lower()
        and value != value.upper().replace("0X", "0x")
        and not is_checksum_address(value)
    ):
        return None
    return str(to_checksum_address(value))


def changes(
    families: Mapping[str, str | None] | None, *, evm: str | None = None, evm_given: bool = False
) -> dict[str, str | None]:
    """The changes an API call asks for: `payout_addresses` by family, and `payout_address` (the EVM
    one, `evm`, when `evm_given`; None removes it). Naming the EVM address both ways, differently,
    is refused."""
    result: dict[str, str | None] = dict(families or {})
    if evm_given:
        if "evm" in result and (result["evm"] or "").lower() != (evm or "").lower():
            raise InvalidRequestError(
                "payout_address and payout_addresses.evm name different addresses",
                param="payout_address",
                code="parameter_invalid",
            )
        result["evm"] = check_address(evm, "payout_address") if evm else None
    return result


def merged(
    current: Mapping[str, str] | None, changes: Mapping[str, str | None], rails: Rails | None
) -> dict[str, str]:
    """`current` with `changes` applied: an address sets (checked by a rail of its family,
    `Rails.check_address`), None or "" removes. Without the process's `rails`, only EVM addresses
    (the EVM rail's rule, `check_address`) can be set."""
    result = dict(current or {})
    known = rails.families if rails is not None else ("evm",)
    for family, value in changes.items():
        param = f"payout_addresses.{family}"
        if value is None or not value.strip():
            result.pop(family, None)  # removing what cannot exist is no error
            continue
        if family not in known:
            raise InvalidRequestError(
                f"unknown chain family {family!r}; known: {', '.join(known)}",
                param=param,
                code="unknown_family",
            )
        if rails is not None:
            result[family] = rails.check_address(family, value.strip(), param)
        else:
            result[family] = check_address(value.strip(), param)
    return result


def for_family(addresses: Mapping[str, str] | None, family: str) -> str | None:
    """The address an intent on a network of `family` pays out to (None: the merchant has none)."""
    return (addresses or {}).get(family)
