"""`sluice sweep`: runs the sweep job (sluice.deposits.sweeper) for one or more networks."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.config import Settings

log = structlog.get_logger(__name__)

#: Seconds between runs of a network's sweeper.
SWEEP_EVERY = 15.0


async def sweep_networks(
    settings: Settings,
    network_names: Sequence[str],
    *,
    once: bool = False,
    batch_size: int | None = None,
    every: float = SWEEP_EVERY,
    stop: asyncio.Event | None = None,
) -> None:
    """Runs each network's sweeper every `every` seconds until `stop` is set (once with `once`)."""
    from sluice.chain.registry import get_registry
    from sluice.chain.rpc import async_web3
    from sluice.db.admin import resolve_database_url
    from sluice.db.session import make_engine, make_sessionmaker
    from sluice.deposits.sweeper import DEFAULT_BATCH_SIZE, Sweeper
    from sluice.intents.signing import relayer_account

    registry = get_registry()
    engine = make_engine(resolve_database_url(settings), pool_size=2)
    sessions = make_sessionmaker(engine)
    sweepers = []
    for name in network_names:
        network = registry.network(name)
        relayer = relayer_account(settings, live=network.live)
        sweepers.append(
            Sweeper(
                sessions, network, async_web3(network), relayer, batch_size=batch_size or DEFAULT_BATCH_SIZE
            )
        )
    stop = stop or asyncio.Event()
    try:
        while True:
            for sweeper in sweepers:
                try:
                    run = await sweeper.run_once()
                except Exception:  # one network's RPC trouble must not stop the others
                    log.exception("deposit_sweep_run_failed", network=sweeper.network.name)
                    continue
                if run.sent or run.reconciled:
                    log.info(
                        "deposit_sweep_run", network=run.network, sent=run.sent, reconciled=run.reconciled
                    )
            if once or stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
            if stop.is_set():
                return
    finally:
        await engine.dispose()


async def sweep_registry(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, sweepers: dict[str, Any]
) -> None:
    """One run of every network that has a SluiceDeposits and an RPC URL (the worker's scheduled job);
    `sweepers` keeps each network's Sweeper between runs."""
    from sluice.chain.registry import get_registry
    from sluice.chain.rpc import async_web3
    from sluice.deposits.sweeper import Sweeper
    from sluice.intents.signing import relayer_account

    for network in get_registry():
        if network.family != "evm" or network.contracts.deposits is None or not network.rpc_urls:
            continue
        try:
            sweeper = sweepers.get(network.name)
            if sweeper is None:
                relayer = relayer_account(settings, live=network.live)
                sweeper = sweepers[network.name] = Sweeper(sessions, network, async_web3(network), relayer)
            run = await sweeper.run_once()
        except Exception:  # one network's RPC or key trouble must not stop the others
            log.exception("deposit_sweep_run_failed", network=network.name)
            continue
        if run.sent:
            log.info("deposit_sweep_run", network=run.network, sent=run.sent, intents=run.planned_intents)


def main(settings: Settings, network_names: Sequence[str], *, once: bool, batch_size: int | None) -> None:
    from sluice.logging import configure_logging

    configure_logging(settings)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await sweep_networks(settings, network_names, once=once, batch_size=batch_size, stop=stop)

    asyncio.run(_main())
