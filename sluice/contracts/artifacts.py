"""Loading compiled contract artifacts from contracts/artifacts/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from hexbytes import HexBytes

from sluice.errors import ArtifactError
from sluice.paths import ARTIFACTS_DIR


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: ABI, creation and runtime bytecode, and the hash manifests record."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: HexBytes
    deployed_bytecode: HexBytes
    hash: str
    immutable_references: tuple[tuple[int, int], ...]
    raw: dict[str, Any]


@cache
def load_artifact(name: str, directory: Path = ARTIFACTS_DIR) -> Artifact:
    """The artifact of contract `name`; raises ArtifactError with the fix when it is missing."""
    from sluice.contracts.build import artifact_hash

    path = directory / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.json"))
        raise ArtifactError(
            f"no artifact for contract {name!r} in {directory}; run `sluice contracts build`"
            + (f" (known: {', '.join(known)})" if known else "")
        )
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(
        name=name,
        abi=raw["abi"],
        bytecode=HexBytes(raw["bytecode"]),
        deployed_bytecode=HexBytes(raw["deployedBytecode"]),
        hash=artifact_hash(raw),
        immutable_references=tuple((int(s), int(n)) for s, n in raw.get("immutableReferences", [])),
        raw=raw,
    )
