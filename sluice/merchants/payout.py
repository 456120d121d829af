"""A merchant's payout addresses, one per chain family, each checked by its family's rules.

Merchants are paid out wherever they sell: `{"evm": "0x…", "solana": "<base58 wallet>", "stacks":
"SP…"}`. An intent signs the address of its network's family (`for_family`); a merchant without
one cannot create intents on that family's networks (`payout_address_missing`).

The validators are the families' own (the rails call the same functions for payers and splits):
EVM addresses in EIP-55 form and never the zero address; Solana wallets (points on the curve, not
program-derived addresses) in canonical base58; Stacks standard principals in canonical c32. A
Stacks address of either version is accepted here (`SP…` mainnet, `ST…` testnet); the rail checks
the version against the intent's network.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from sluice.errors import InvalidRequestError, SluiceError
from sluice.rails.solana.addresses import canonical_wallet
from sluice.rails.stacks.c32 import parse_address as parse_stacks_address

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


def _solana(value: str, param: str) -> str:
    return canonical_wallet(value, param=param)


def _stacks(value: str, param: str) -> str:
    try:
        parse_stacks_address(value)
    except SluiceError as exc:
        raise InvalidRequestError(str(exc), param=param, code="invalid_address") from exc
    return value


#: The chain families a merchant can be paid out on, with the rule for their addresses.
VALIDATORS: dict[str, Callable[[str, str], str]] = {
    "evm": check_address,
    "solana": _solana,
    "stacks": _stacks,
}
FAMILIES = tuple(VALIDATORS)


def check(family: str, value: str, param: str) -> str:
    """`value` as a payout address of `family` (canonical form), or a 400 naming `param`."""
    validator = VALIDATORS.get(family)
    if validator is None:
        raise InvalidRequestError(
            f"unknown chain family {family!r}; known: {', '.join(FAMILIES)}",
            param=param,
            code="unknown_family",
        )
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{param} is empty", param=param, code="invalid_address")
    return validator(value.strip(), param)


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


def merged(current: Mapping[str, str] | None, changes: Mapping[str, str | None]) -> dict[str, str]:
    """`current` with `changes` applied: an address sets (after its family's check), None removes."""
    result = dict(current or {})
    for family, value in changes.items():
        param = f"payout_addresses.{family}"
        if value is None or value == "":
            if family not in VALIDATORS:
                check(family, "", param)  # unknown family: the same 400 as setting one
            result.pop(family, None)
        else:
            result[family] = check(family, value, param)
    return result


def for_family(addresses: Mapping[str, str] | None, family: str) -> str | None:
    """The address an intent on a network of `family` pays out to (None: the merchant has none)."""
    return (addresses or {}).get(family)
