"""Deployment manifests, deployments/NETWORK.json: what `sluice deploy` recorded on each network.

Apart from `sluice.chain.deploy` because readers (the registry, the indexer) need only the file,
not the deployment machinery and its eth-abi/hexbytes imports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sluice.paths import deployments_dir


def manifest_path(network: str, directory: Path | None = None) -> Path:
    return (directory or deployments_dir()) / f"{network}.json"


def read_manifest(network: str, directory: Path | None = None) -> dict[str, Any] | None:
    path = manifest_path(network, directory)
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_manifest(manifest: dict[str, Any], directory: Path | None = None) -> Path:
    path = manifest_path(manifest["network"], directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a manifest
    return path
