"""`python -m sluice.rails.solana.devchain`: the local Solana cluster on 127.0.0.1, standalone.

Creates the dev USDC mint, funds the dev keypairs, serves the JSON-RPC until interrupted, and
merges its facts (`solana` key: RPC URL, mint, dev keypairs) into `.sluice/dev.json` so a client
needs nothing but that file, solders and HTTP. A development tool: see docs/solana.md.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any

from solders.keypair import Keypair

from sluice.rails.solana.devchain.cluster import LocalCluster
from sluice.rails.solana.devchain.server import serve_in_thread
from sluice.rails.solana.networks import LOCAL_USDC_MINT


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--slot-ms", type=int, default=400, help="milliseconds per empty slot")
    parser.add_argument("--finality-depth", type=int, default=2, help="slots until finalized")
    parser.add_argument("--info-file", type=Path, default=Path.cwd() / ".sluice" / "dev.json")
    args = parser.parse_args()
    cluster = LocalCluster(finality_depth=args.finality_depth)
    keys = cluster.bootstrap()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with serve_in_thread(cluster, port=args.port, slot_seconds=args.slot_ms / 1000) as url:
        merge_into(args.info_file, dev_info(url, keys))
        print(f"solana-local JSON-RPC on {url}; dev USDC mint {LOCAL_USDC_MINT}; keys in {args.info_file}")  # noqa: T201
        stop.wait()


if __name__ == "__main__":
    main()
