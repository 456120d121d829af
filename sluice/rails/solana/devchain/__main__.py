"""`python -m sluice.rails.solana.devchain`: the local Solana cluster on 127.0.0.1, standalone.

Creates the dev USDC mint, funds the dev keypairs, serves the JSON-RPC until interrupted, and
merges its facts (`solana` key: RPC URL, mint, dev keypairs) into `.sluice/dev.json` so a client
needs nothing but that file, solders and HTTP. A development tool: see docs/solana.md.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from sluice.rails.solana.devchain.devinfo import local_cluster, merge_into
from sluice.rails.solana.networks import LOCAL_USDC_MINT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8899)
    parser.add_argument("--slot-ms", type=int, default=400, help="milliseconds per empty slot")
    parser.add_argument("--finality-depth", type=int, default=2, help="slots until finalized")
    parser.add_argument("--info-file", type=Path, default=Path.cwd() / ".sluice" / "dev.json")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with local_cluster(
        port=args.port, slot_seconds=args.slot_ms / 1000, finality_depth=args.finality_depth
    ) as info:
        merge_into(args.info_file, info)
        url = info["rpc_url"]
        print(f"solana-local JSON-RPC on {url}; dev USDC mint {LOCAL_USDC_MINT}; keys in {args.info_file}")  # noqa: T201
        stop.wait()


if __name__ == "__main__":
    main()
