"""The EVM features Sluice's contracts need, and whether a network has them.

Why this exists: the contracts are compiled for Cancun (`evmVersion` in sluice/contracts/build.py)
and their reentrancy guard keeps its lock in transient storage (TSTORE/TLOAD, EIP-1153). On a chain
without those opcodes the deployment can still succeed (the constructors do not touch the guard)
while every payment then fails on an invalid opcode: money-moving code that cannot run. So the
opcodes the compiled artifacts really contain are read from their bytecode, each network records
the EVM version (hardfork) it runs, and `sluice deploy` refuses before anything is sent: first from
that record (no RPC call), then by asking the node itself to execute the same opcodes (`eth_call`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from sluice.chain.network_config import CONTRACT_NAMES
from sluice.contracts import load_artifact
from sluice.errors import NetworkError, UnsupportedEvmError

if TYPE_CHECKING:  # web3 costs ~0.5 s to import; the record check needs none of it
    from web3 import Web3

    from sluice.chain.network_config import NetworkConfig

#: Ethereum's EVM upgrades in order (the names solc's `evmVersion` and anvil's `--hardfork` use).
HARDFORKS: tuple[str, ...] = (
    "homestead",
    "byzantium",
    "constantinople",
    "petersburg",
    "istanbul",
    "berlin",
    "london",
    "paris",
    "shanghai",
    "cancun",
    "prague",
    "osaka",
)


@dataclass(frozen=True)
class Opcode:
    """An opcode younger than the original EVM: the upgrade and EIP that brought it."""

    value: int
    name: str
    hardfork: str
    eip: str
    #: The instructions that make the node execute it once, leaving the stack as it was
    #: (None: not probed; Byzantium-era control flow every EVM chain has).
    probe: bytes | None = None

    def describe(self) -> str:
        return f"{self.name} ({self.eip}, {self.hardfork})"


def _push1(value: int) -> bytes:
    return bytes((0x60, value))


_POP = b"\x50"

#: Opcodes added after Homestead, by value. Only these can be missing on a chain that runs an EVM.
OPCODES: dict[int, Opcode] = {
    op.value: op
    for op in (
        Opcode(0x3D, "RETURNDATASIZE", "byzantium", "EIP-211"),
        Opcode(0x3E, "RETURNDATACOPY", "byzantium", "EIP-211"),
        Opcode(0xFA, "STATICCALL", "byzantium", "EIP-214"),
        Opcode(0xFD, "REVERT", "byzantium", "EIP-140"),
        Opcode(0x1B, "SHL", "constantinople", "EIP-145", _push1(1) + _push1(1) + b"\x1b" + _POP),
        Opcode(0x1C, "SHR", "constantinople", "EIP-145", _push1(1) + _push1(1) + b"\x1c" + _POP),
        Opcode(0x1D, "SAR", "constantinople", "EIP-145", _push1(1) + _push1(1) + b"\x1d" + _POP),
        Opcode(0x3F, "EXTCODEHASH", "constantinople", "EIP-1052", b"\x30\x3f" + _POP),
        Opcode(0xF5, "CREATE2", "constantinople", "EIP-1014"),
        Opcode(0x46, "CHAINID", "istanbul", "EIP-1344", b"\x46" + _POP),
        Opcode(0x47, "SELFBALANCE", "istanbul", "EIP-1884", b"\x47" + _POP),
        Opcode(0x48, "BASEFEE", "london", "EIP-3198", b"\x48" + _POP),
        Opcode(0x5F, "PUSH0", "shanghai", "EIP-3855", b"\x5f" + _POP),
        Opcode(0x49, "BLOBHASH", "cancun", "EIP-4844", _push1(0) + b"\x49" + _POP),
        Opcode(0x4A, "BLOBBASEFEE", "cancun", "EIP-7516", b"\x4a" + _POP),
        # TSTORE(key 0, value 1) then TLOAD(key 0): the reentrancy guard's lock.
        Opcode(0x5C, "TLOAD", "cancun", "EIP-1153", _push1(0) + b"\x5c" + _POP),
        Opcode(0x5D, "TSTORE", "cancun", "EIP-1153", _push1(1) + _push1(0) + b"\x5d"),
        # MCOPY(dest 32, src 0, size 32).
        Opcode(0x5E, "MCOPY", "cancun", "EIP-5656", _push1(32) + _push1(0) + _push1(32) + b"\x5e"),
        Opcode(0x1E, "CLZ", "osaka", "EIP-7939", _push1(1) + b"\x1e" + _POP),
    )
}
#: Transient storage is what the reentrancy guard (OpenZeppelin's ReentrancyGuardTransient) needs.
TRANSIENT_STORAGE = ("TSTORE", "TLOAD")


def hardfork_index(name: str) -> int:
    """The position of `name` in HARDFORKS (UnsupportedEvmError for a name it does not know)."""
    try:
        return HARDFORKS.index(name.lower())
    except ValueError:
        raise UnsupportedEvmError(
            f"unknown EVM version {name!r}; known: {', '.join(HARDFORKS)}", evm_version=name
        ) from None


def opcodes_in(code: bytes) -> set[int]:
    """The opcodes of `code`, read instruction by instruction (PUSH data skipped).

    A linear sweep may also read a data section as instructions; that can only add opcodes, so the
    check errs towards refusing, never towards deploying code that cannot run."""
    found: set[int] = set()
    i = 0
    while i < len(code):
        op = code[i]
        found.add(op)
        i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
    return found


@cache
def required_opcodes(contracts: tuple[str, ...] = tuple(CONTRACT_NAMES.values())) -> tuple[Opcode, ...]:
    """The post-Homestead opcodes in the creation and runtime code of `contracts`, oldest upgrade first."""
    found: set[int] = set()
    for name in contracts:
        artifact = load_artifact(name)
        found |= opcodes_in(bytes(artifact.bytecode)) | opcodes_in(bytes(artifact.deployed_bytecode))
    needed = [OPCODES[op] for op in found if op in OPCODES]
    return tuple(sorted(needed, key=lambda op: (hardfork_index(op.hardfork), op.value)))


def required_hardfork(opcodes: Iterable[Opcode]) -> str:
    """The oldest EVM version that has every one of `opcodes`."""
    return max((op.hardfork for op in opcodes), key=hardfork_index, default=HARDFORKS[0])


def missing_opcodes(evm_version: str, opcodes: Iterable[Opcode]) -> list[Opcode]:
    """Those of `opcodes` that an EVM at `evm_version` does not have."""
    level = hardfork_index(evm_version)
    return [op for op in opcodes if hardfork_index(op.hardfork) > level]


def _summary(opcodes: Sequence[Opcode]) -> str:
    names = ", ".join(op.describe() for op in opcodes)
    if any(op.name in TRANSIENT_STORAGE for op in opcodes):
        names += "; TSTORE/TLOAD hold the contracts' reentrancy lock"
    return names


def _recent(opcodes: Sequence[Opcode]) -> list[Opcode]:
    """The opcodes younger than London: those some EVM chains still lack (the older ones all have)."""
    return [op for op in opcodes if hardfork_index(op.hardfork) > hardfork_index("london")] or list(opcodes)


def check_network(network: NetworkConfig, contracts: tuple[str, ...] | None = None) -> None:
    """Refuses (UnsupportedEvmError) a network whose recorded EVM version lacks an opcode of the
    compiled contracts, or that records none. No RPC call: runs before any connection."""
    opcodes = required_opcodes(contracts) if contracts else required_opcodes()
    needed = required_hardfork(opcodes)
    override = (
        f'If you have checked that {network.name} runs {needed} or later, set evm_version = "{needed}" '
        f"for it in $SLUICE_NETWORKS_FILE (docs/operations.md)."
    )
    if network.evm_version is None:
        raise UnsupportedEvmError(
            f"refusing to deploy to {network.name}: its EVM version is not recorded, and the contracts "
            f"need {needed} ({_summary(_recent(opcodes))}). Nothing was sent. {override}",
            network=network.name,
            evm_version=None,
            missing=tuple(op.name for op in opcodes),
        )
    missing = missing_opcodes(network.evm_version, opcodes)
    if missing:
        raise UnsupportedEvmError(
            f"refusing to deploy to {network.name}: it is recorded as EVM {network.evm_version}, which "
            f"lacks {_summary(missing)}; the contracts are compiled for {needed} and could not run "
            f"there. Nothing was sent. {override}",
            network=network.name,
            evm_version=network.evm_version,
            missing=tuple(op.name for op in missing),
        )


def probe_code(opcodes: Iterable[Opcode]) -> bytes:
    """Creation code that executes each probe-able opcode once and then returns the byte 0x01."""
    body = b"".join(op.probe for op in opcodes if op.probe is not None)
    # MSTORE8(0, 1); RETURN(0, 1)
    return body + _push1(1) + _push1(0) + b"\x53" + _push1(1) + _push1(0) + b"\xf3"


def _runs(w3: Web3, code: bytes) -> tuple[bool, str]:
    """Whether the node executes `code` (creation code that returns 0x01) as Ethereum does."""
    try:
        result = bytes(w3.eth.call({"data": code}))
    except (ConnectionError, TimeoutError, OSError):
        raise
    except Exception as exc:  # the node's words for an invalid opcode vary: keep them
        return False, str(exc)[:300]
    return result == b"\x01", f"returned 0x{result.hex()} instead of 0x01"


def probe_node(w3: Web3, network: str, contracts: tuple[str, ...] | None = None) -> None:
    """Asks the node to execute the contracts' post-Homestead opcodes (`eth_call` of creation code:
    nothing is sent). Raises UnsupportedEvmError naming the opcodes it cannot run, whatever the
    network's record says."""
    opcodes = required_opcodes(contracts) if contracts else required_opcodes()
    try:
        ok, detail = _runs(w3, probe_code(opcodes))
        if ok:
            return
        # One call per opcode, only on failure: the message names exactly what is missing.
        failed = [op for op in opcodes if op.probe is not None and not _runs(w3, probe_code([op]))[0]]
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise NetworkError(f"cannot reach the RPC endpoint of {network!r}: {exc}") from exc
    missing = failed or [op for op in opcodes if op.probe is not None]
    raise UnsupportedEvmError(
        f"refusing to deploy to {network}: its node cannot execute {_summary(missing)} ({detail}); the "
        f"contracts are compiled for {required_hardfork(opcodes)} and could not run there. Nothing was sent.",
        network=network,
        missing=tuple(op.name for op in missing),
    )
