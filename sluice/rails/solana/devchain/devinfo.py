"""Starting the local Solana cluster from other code (`sluice dev`, tests, benchmarks) and the
`solana` section of `.sluice/dev.json` that lets a client pay with nothing but that file,
solders and HTTP."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from solders.keypair import Keypair

from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.devchain.server import serve_in_thread
from sluice.rails.solana.networks import LOCAL_USDC_MINT


@contextlib.contextmanager
def local_cluster(
    *, port: int = 0, slot_seconds: float = 0.4, finality_depth: int = 2
) -> Iterator[dict[str, Any]]:
    """A bootstrapped cluster served on 127.0.0.1 in a thread; yields its dev info section."""
    cluster = LocalCluster(finality_depth=finality_depth)
    keys = cluster.bootstrap()
    with serve_in_thread(cluster, port=port, slot_seconds=slot_seconds) as url:
        yield dev_info(url, keys)


def dev_info(rpc_url: str, keys: dict[str, Keypair]) -> dict[str, Any]:
    """The `solana` section of `.sluice/dev.json` (holds dev secret keys: the file is mode 600)."""
    return {
        "network": "solana-local",
        "rpc_url": rpc_url,
        "usdc_mint": LOCAL_USDC_MINT,
        "keypairs": {
            name: {"address": str(key.pubkey()), "secret_key": str(key)} for name, key in keys.items()
        },
    }


def merge_into(path: Path, section: dict[str, Any]) -> None:
    """Add the `solana` section to the dev info file, keeping what `sluice dev` wrote there."""
    info = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    info["solana"] = section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
