"""Entry points: `run(settings, network_names, stop_event)` for embedding (e.g. `sluice dev`), `main` for
the `sluice indexer` command.

Each network runs as its own task with its own leader lock, RPC client and checkpoint; a network that
halts (a reorganisation deeper than its window) stops alone and the others go on.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Mapping, Sequence

import asyncpg
import structlog

from indexer import metrics
from indexer import solana as solana_indexer
from indexer.deposits import DepositConfig
from indexer.follower import FollowerConfig, NetworkFollower, ReorgTooDeepError
from indexer.leader import Leadership
from indexer.rpc import RpcClient
from indexer.stacks import follow_stacks, stacks_api_url
from sluice.chain.intents import ContractKind
from sluice.chain.manifest import read_manifest
from sluice.chain.multicall import ADDRESS as MULTICALL3
from sluice.chain.network_config import CONTRACT_NAMES
from sluice.chain.registry import NetworkConfig, Registry, get_registry
from sluice.config import Settings
from sluice.db.admin import resolve_database_url
from sluice.db.pool import make_driver_pool
from sluice.errors import NetworkError

log = structlog.get_logger(__name__)


def start_block_of(network: NetworkConfig) -> int:
    """Where to start: the earliest deploy block of the network's manifest, else 0 (with a warning)."""
    manifest = read_manifest(network.name) or {}
    blocks = [
        entry.get("block_number")
        for name, entry in (manifest.get("contracts") or {}).items()
        if name in CONTRACT_NAMES.values()
    ]
    known = [int(b) for b in blocks if b is not None]
    if not known:
        log.warning("indexer_start_block_unknown", network=network.name, start_block=0)
        return 0
    return min(known)


def follower_config(
    network: NetworkConfig, settings: Settings, start_block: int | None = None
) -> FollowerConfig:
    contracts: dict[ContractKind, str] = {}
    if network.contracts.payments:
        contracts["payments"] = network.contracts.payments
    if network.contracts.escrow:
        contracts["escrow"] = network.contracts.escrow
    if not contracts:
        raise NetworkError(
            f"no Sluice contracts on {network.name}: run `sluice deploy --network {network.name}` first"
        )
    if not network.rpc_urls:
        raise NetworkError(f"no RPC URL for network {network.name!r}: set {network.rpc_env}")
    return FollowerConfig(
        network=network.name,
        chain_id=network.chain_id,
        contracts=contracts,
        start_block=start_block_of(network) if start_block is None else start_block,
        confirmations=network.confirmations,
        window=max(settings.indexer_reorg_window, 2 * network.confirmations),
        poll_seconds=settings.indexer_poll_seconds,
        max_range=settings.indexer_max_block_range,
        target_events=settings.indexer_target_events,
        checkout_base_url=str(settings.checkout_base_url),
        deposits=deposit_config(network),
    )


def deposit_config(network: NetworkConfig) -> DepositConfig | None:
    """What to watch for the evm-deposit rail: the network's tokens, native coin through Multicall3."""
    if "evm-deposit" not in network.rails:
        return None
    tokens = tuple(a.address for a in network.assets.values() if a.address is not None)
    return DepositConfig(tokens=tokens, multicall=MULTICALL3, factory=network.contracts.deposits)


def indexed_networks(registry: Registry, names: Sequence[str] | None) -> list[NetworkConfig]:
    """The named networks, or every configured network with contracts and an RPC URL (and the
    Solana networks whose RPC URL is set)."""
    if names:
        return [registry.network(n) for n in names]
    chosen = [
        n
        for n in registry
        if (n.contracts.payments or n.contracts.escrow)
        and (n.rpc_urls if n.family == "evm" else n.family == "stacks" and stacks_api_url(n.name))
    ]
    chosen += solana_indexer.configured_networks(registry)
    if not chosen:
        raise NetworkError("no network has Sluice contracts and an RPC URL; pass --network NAME")
    return chosen


async def run(
    settings: Settings,
    network_names: Sequence[str] | None = None,
    stop_event: asyncio.Event | None = None,
    *,
    registry: Registry | None = None,
    database_url: str | None = None,
    start_blocks: Mapping[str, int] | None = None,
) -> None:
    """Indexes the networks until `stop_event` is set (or every network halted).

    `network_names` None means every network with contracts and an RPC URL; `start_blocks` overrides
    the manifests' deploy blocks (tests, chains deployed outside `sluice deploy`).
    """
    stop = stop_event or asyncio.Event()
    registry = registry or get_registry()
    chosen = indexed_networks(registry, network_names)
    networks = [n for n in chosen if n.family == "evm"]
    stacks = [n for n in chosen if n.family == "stacks"]
    solana = [n for n in chosen if n.family == "solana"]
    configs = [follower_config(n, settings, (start_blocks or {}).get(n.name)) for n in networks]
    url = database_url or resolve_database_url(settings)
    # asyncpg only (no SQLAlchemy session): the indexer starts without importing the ORM.
    pool = await make_driver_pool(url, size=len(configs) + len(stacks) + len(solana) + 1)
    if settings.indexer_metrics_port:
        metrics.start_metrics_server(settings.indexer_metrics_port)
        log.info("indexer_metrics", port=settings.indexer_metrics_port)
    tasks = [
        asyncio.create_task(_follow(network, config, settings, pool, url, stop), name=config.network)
        for network, config in zip(networks, configs, strict=True)
    ] + [
        asyncio.create_task(follow_stacks(network, settings, pool, url, stop), name=network.name)
        for network in stacks
    ]
    tasks += [
        asyncio.create_task(solana_indexer.follow(n, settings, pool, url, stop), name=n.name) for n in solana
    ]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await pool.close()


async def _follow(
    network: NetworkConfig,
    config: FollowerConfig,
    settings: Settings,
    pool: asyncpg.Pool,
    database_url: str,
    stop: asyncio.Event,
) -> None:
    rpc = RpcClient(
        network.rpc_urls,
        timeout=settings.indexer_rpc_timeout_seconds,
        on_error=lambda kind: metrics.RPC_ERRORS.labels(network.name, kind).inc(),
    )
    leadership = Leadership(database_url, network.name, poll_seconds=settings.indexer_leader_poll_seconds)
    follower = NetworkFollower(config, rpc, pool, leadership)
    try:
        await follower.run(stop)
    except ReorgTooDeepError as exc:
        log.critical("indexer_network_halted", network=network.name, reason=str(exc))
    finally:
        await rpc.aclose()


async def reindex_from(
    settings: Settings, network_name: str, block: int, *, registry: Registry | None = None
) -> int:
    """Rolls a network back to `block` (events above deleted, intents recomputed), clears a halt;
    the next run re-indexes from there. Returns the number of intent events recorded.

    Takes the network's leader lock first, so it waits while an indexer of the network runs."""
    from indexer.store import Checkpoint, load_checkpoint

    registry = registry or get_registry()
    network = registry.network(network_name)
    config = follower_config(network, settings)
    url = resolve_database_url(settings)
    pool = await make_driver_pool(url, size=1)
    leadership = Leadership(url, network.name)
    rpc = RpcClient(network.rpc_urls, timeout=settings.indexer_rpc_timeout_seconds)
    try:
        stop = asyncio.Event()
        await leadership.wait(stop)
        async with pool.acquire() as conn:
            cp = await load_checkpoint(conn, network.name)
        if cp is None:
            return 0
        follower = NetworkFollower(config, rpc, pool, leadership)
        head = int(await rpc.call("eth_blockNumber", []), 16)
        follower.checkpoint = Checkpoint(cp.last_block, cp.last_hash, cp.head_block, cp.confirmed_block, None)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE indexer_state SET halted_reason = NULL WHERE network = $1", network.name
            )
        target = min(block, cp.last_block)
        return await follower.rollback(target, None, head, follower._confirmed(head, None))
    finally:
        await leadership.release()
        await rpc.aclose()
        await pool.close()


#: Allocations between young-generation collections (CPython's default is 700).
GC_GEN0_THRESHOLD = 50_000
#: Seconds a thread runs before one waiting for the GIL may take it (CPython's default is 0.005).
GIL_SWITCH_INTERVAL = 0.001


def tune_interpreter() -> None:
    """Garbage-collector and GIL settings for the long-running indexer process.

    The GIL: a batch's statements are sent by the event loop while a worker thread builds the
    payloads. Each time the loop gives the GIL up (a socket read or write, waiting for PostgreSQL) it
    may wait up to the switch interval to get it back from the worker, and the connection waits
    with it: sampled, the loop held the GIL ~0.5 s and waited for it ~0.5 s per 20,000 events. With
    a shorter interval the connection's client-side share fell from 0.8-1.0 s to ~0.56 s (traced, at
    0.5 ms); end to end, alternated backfills at 1 ms took 0.95-0.98 of the time (medians of three
    sets of 6-10 rounds; the machine's noise is ±10%). 0.2 ms was no better than 1 ms.

    The garbage collector:
    A backfill batch allocates hundreds of thousands of short-lived containers (decoded logs, intent
    rows, outbox payloads) while thousands of them are alive at once: with CPython's default
    thresholds the cyclic collector ran hundreds of times a batch, each full pass walking every live
    object, and took about a fifth of the process's CPU in profiles. Freezing the objects of start-up
    (modules, settings, registry: never garbage) takes them out of every later pass, and a larger
    young generation makes passes rare. Reference counting still frees almost everything at once;
    only reference cycles wait a little longer.

    No collection before the freeze: after the imports it found 28 unreachable objects and took
    ~0.09 s (a full pass over ~100,000 objects) of every start; those few stay frozen instead.
    """
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


def main(
    settings: Settings, network_names: Sequence[str] | None = None, *, reindex_block: int | None = None
) -> None:
    """`sluice indexer`: runs until SIGINT/SIGTERM."""
    from sluice.logging import configure_logging

    configure_logging(settings)
    if reindex_block is not None:
        for name in network_names or ():
            count = asyncio.run(reindex_from(settings, name, reindex_block))
            log.info("indexer_rewound", network=name, block=reindex_block, intent_events=count)
        return

    tune_interpreter()

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, network_names, stop)

    asyncio.run(_main())
