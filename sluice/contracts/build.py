"""Compiles contracts/ with the project's pinned solcjs (npm `solc`) into contracts/artifacts/."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from sluice.errors import CompilerError
from sluice.paths import ARTIFACTS_DIR, CONTRACTS_DIR, PROJECT_ROOT

#: Compiler settings, fixed so that every machine produces the same bytecode (and CREATE2 address).
#: No CBOR metadata: comment-only edits keep the bytecode, and so the deployed address, unchanged.
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 1_000_000},
    "evmVersion": "cancun",
    "viaIR": True,
    "metadata": {"appendCBOR": False, "bytecodeHash": "none"},
}
_OUTPUTS = [
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
]
COMPILE_SCRIPT = CONTRACTS_DIR / "compile.js"


def source_files() -> list[Path]:
    """The project's Solidity sources (contracts/, without artifacts), sorted for a stable input."""
    return sorted(p for p in CONTRACTS_DIR.rglob("*.sol") if ARTIFACTS_DIR not in p.parents)


def standard_input() -> dict[str, Any]:
    """The solc standard-JSON input for every source, with contents inlined."""
    sources = {
        p.relative_to(PROJECT_ROOT).as_posix(): {"content": p.read_text(encoding="utf-8")}
        for p in source_files()
    }
    settings = dict(COMPILER_SETTINGS)
    settings["outputSelection"] = {name: {"*": _OUTPUTS} for name in sources}
    return {"language": "Solidity", "sources": sources, "settings": settings}


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise CompilerError("node is not installed; run `make setup` (it installs Node.js and the npm solc)")
    if not (PROJECT_ROOT / "node_modules" / "solc").is_dir():
        raise CompilerError("the npm package solc is missing; run `npm ci` (or `make setup`)")
    return node


def solc_version() -> str:
    """The pinned solcjs version, e.g. `0.8.30+commit.73712a01.Emscripten.clang`."""
    out = subprocess.run(
        [_node(), str(COMPILE_SCRIPT), "--version"], input="", capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def compile_sources() -> dict[str, Any]:
    """Runs solcjs on every source; returns the standard-JSON output, raising on any error."""
    proc = subprocess.run(
        [_node(), str(COMPILE_SCRIPT)],
        input=json.dumps(standard_input()),
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise CompilerError(f"solcjs failed: {proc.stderr.strip()[:2000]}")
    output: dict[str, Any] = json.loads(proc.stdout)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompilerError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return output


def build_artifacts() -> dict[str, dict[str, Any]]:
    """Compiles and returns the artifact of every deployable contract, keyed by contract name."""
    output = compile_sources()
    version = solc_version()
    settings = COMPILER_SETTINGS
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in sorted(output.get("contracts", {}).items()):
        for name, data in sorted(contracts.items()):
            bytecode = data["evm"]["bytecode"]["object"]
            if not bytecode:  # abstract contracts, interfaces and libraries without code
                continue
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "abi": data["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                # Byte ranges of the runtime code that the constructor fills (chain id, address, fees):
                # `sluice deploy verify` masks them when comparing on-chain code with this artifact.
                "immutableReferences": sorted(
                    (ref["start"], ref["length"])
                    for refs in data["evm"]["deployedBytecode"].get("immutableReferences", {}).values()
                    for ref in refs
                ),
                "compiler": {"name": "solc", "version": version, "settings": settings},
            }
    return artifacts


def render(artifact: dict[str, Any]) -> str:
    """The artifact as written to disk (stable key order, trailing newline)."""
    return json.dumps(artifact, indent=2, sort_keys=True) + "\n"


def write_artifacts(artifacts: dict[str, dict[str, Any]], directory: Path = ARTIFACTS_DIR) -> list[Path]:
    """Writes one JSON file per contract and removes artifacts of contracts that no longer exist."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, artifact in artifacts.items():
        path = directory / f"{name}.json"
        path.write_text(render(artifact), encoding="utf-8")
        written.append(path)
    for old in directory.glob("*.json"):
        if old.stem not in artifacts:
            old.unlink()
    return written


def stale_artifacts(artifacts: dict[str, dict[str, Any]], directory: Path = ARTIFACTS_DIR) -> list[str]:
    """Names whose file on disk differs from a fresh build (missing, changed or left over)."""
    stale = [
        name
        for name, artifact in artifacts.items()
        if not (directory / f"{name}.json").is_file()
        or (directory / f"{name}.json").read_text(encoding="utf-8") != render(artifact)
    ]
    stale += [p.stem for p in directory.glob("*.json") if p.stem not in artifacts]
    return sorted(stale)


def artifact_hash(artifact: dict[str, Any]) -> str:
    """sha256 over the ABI and creation bytecode: what a deployment manifest records."""
    material = json.dumps({"abi": artifact["abi"], "bytecode": artifact["bytecode"]}, sort_keys=True)
    return "0x" + hashlib.sha256(material.encode()).hexdigest()
