"""`sluice reconcile`: prove the books against the chain; exit 1 when they disagree."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from sluice.errors import SluiceError

if TYPE_CHECKING:
    from sluice.models.reports import ReconciliationRun

console = Console()
err = Console(stderr=True)


def print_run(run: ReconciliationRun) -> None:
    colour = "green" if run.status == "clean" else "red"
    console.print(
        f"[bold]{run.network}[/] blocks {run.from_block}–{run.to_block}: {run.chain_events} events on chain, "
        f"{run.db_events} in the database → [{colour}]{run.status}[/] ({run.id})"
    )
    if not run.mismatches:
        return
    table = Table("kind", "merchant", "intent", "event", "tx", "chain", "database")
    for m in run.mismatches:
        table.add_row(
            m["kind"],
            m.get("merchant_id") or "-",
            m.get("payment_intent") or "-",
            m.get("event") or "-",
            (m.get("tx_hash") or "-")[:18],
            m.get("chain_amount") or m.get("chain_received") or "-",
            m.get("database_amount") or m.get("database_received") or "-",
        )
    console.print(table)


def reconcile_cmd(
    network: Annotated[
        str | None, typer.Option(help="One network (default: every network with deployed contracts).")
    ] = None,
    from_block: Annotated[
        int | None, typer.Option(min=0, help="First block (default: the contracts' deployment block).")
    ] = None,
) -> None:
    """Sum the contracts' events straight from the chain and compare them with the database up to
    the indexer's checkpoint; every mismatch is printed and stored; exit 1 when the books disagree."""
    # Imported here: `sluice` defines this command at every start, and the registry and the database
    # session (SQLAlchemy, eth-utils) would cost every other command ~0.2 s.
    from sluice.chain.registry import get_registry
    from sluice.config import get_settings
    from sluice.db.admin import resolve_database_url
    from sluice.db.session import make_engine, make_sessionmaker

    registry = get_registry()
    try:
        networks = (
            [registry.network(network)]
            if network
            else [n for n in registry if (n.contracts.payments or n.contracts.escrow) and n.rpc_urls]
        )
    except SluiceError as exc:
        err.print(f"[bold red]error[/] ({exc.code}): {exc}")
        raise typer.Exit(code=2) from exc
    if not networks:
        err.print("[bold red]error[/]: no network has deployed contracts and an RPC URL; see `sluice deploy`")
        raise typer.Exit(code=2)

    # Imported here: it brings web3 (~0.5 s), which every other `sluice` command would pay at start-up.
    from sluice.reports.reconcile import run_reconciliation

    async def main() -> list[ReconciliationRun]:
        engine = make_engine(resolve_database_url(get_settings()), pool_size=2)
        try:
            sessions = make_sessionmaker(engine)
            return [await run_reconciliation(sessions, n, from_block=from_block) for n in networks]
        finally:
            await engine.dispose()

    try:
        runs = asyncio.run(main())
    except SluiceError as exc:
        err.print(f"[bold red]error[/] ({exc.code}): {exc}")
        raise typer.Exit(code=2) from exc
    for run in runs:
        print_run(run)
    if any(run.status != "clean" for run in runs):
        raise typer.Exit(code=1)
