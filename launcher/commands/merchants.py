"""`sluice merchants …` and `sluice db …`: operator commands against the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.chain.registry import get_registry
from sluice.config import get_settings
from sluice.db.admin import resolve_database_url
from sluice.db.session import make_engine, make_sessionmaker
from sluice.errors import SluiceError
from sluice.intents.signing import NonceAllocator
from sluice.merchants.service import merchant_service
from sluice.models.merchant import ApiKeyKind, Mode
from sluice.rails.defaults import default_rails

# Named here, not by `add_typer`: launcher.cli.LazyGroup imports this module only when one of the two
# groups runs, and builds their commands itself.
merchants_app = typer.Typer(
    name="merchants", help="Create merchants and manage their API keys.", no_args_is_help=True
)
db_app = typer.Typer(name="db", help="Database migrations.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Runs `work` in one committed transaction against the configured database."""

    async def main() -> T:
        engine = make_engine(resolve_database_url(get_settings()), pool_size=1)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except SluiceError as exc:
        err.print(f"[bold red]error[/] ({exc.code}): {exc}")
        raise typer.Exit(code=2) from exc


@merchants_app.command("create")
def create(
    name: str,
    payout_address: Annotated[str | None, typer.Option(help="EVM address payments are paid out to.")] = None,
    payout: Annotated[
        list[str] | None,
        typer.Option(
            help="FAMILY=ADDRESS: the payout address on another chain family (solana=<base58>, "
            "stacks=SP…); repeatable."
        ),
    ] = None,
    mode: Annotated[Mode, typer.Option(help="Mode of the keys to issue.")] = Mode.test,
) -> None:
    """Create a merchant and print its secret and publishable keys (shown once, stored hashed)."""
    others: dict[str, str | None] = {}
    for item in payout or []:
        family, sep, address = item.partition("=")
        if not sep or not family or not address:
            err.print(f"[bold red]error[/]: --payout takes FAMILY=ADDRESS, got {item!r}")
            raise typer.Exit(code=2)
        others[family.strip()] = address.strip()
    settings = get_settings()
    rails = default_rails(get_registry(), settings, NonceAllocator())

    async def work(session: AsyncSession) -> tuple[str, str, str]:
        merchant = await merchant_service.create(
            session, name, payout_address, payout_addresses=others, rails=rails
        )
        secret = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.secret, mode)
        publishable = await merchant_service.issue_key(session, merchant.id, ApiKeyKind.publishable, mode)
        return merchant.id, secret.secret, publishable.secret

    merchant_id, secret, publishable = _run(work)
    console.print(f"merchant  {merchant_id}")
    console.print(f"secret    {secret}   [dim](shown once: store it now)[/]")
    console.print(f"public    {publishable}")


@merchants_app.command("issue-key")
def issue_key(
    merchant_id: str,
    kind: Annotated[
        ApiKeyKind, typer.Option(help="secret, publishable or restricted (read-only).")
    ] = ApiKeyKind.secret,
    mode: Annotated[Mode, typer.Option()] = Mode.test,
) -> None:
    """Issue another key; it is printed once."""

    async def work(session: AsyncSession) -> str:
        return (await merchant_service.issue_key(session, merchant_id, kind, mode)).secret

    console.print(_run(work))


@merchants_app.command("keys")
def list_keys(merchant_id: str) -> None:
    """List a merchant's keys (prefixes only; secrets are never stored)."""

    async def work(session: AsyncSession) -> list[tuple[str, str, str, str, str]]:
        rows = await merchant_service.list_keys(session, merchant_id)
        return [
            (k.id, k.prefix + "…", k.kind, k.mode, k.revoked_at.isoformat() if k.revoked_at else "-")
            for k in rows
        ]

    table = Table()
    for col in ("id", "key", "kind", "mode", "revoked"):
        table.add_column(col)
    for row in _run(work):
        table.add_row(*row)
    console.print(table)


@merchants_app.command("revoke-key")
def revoke_key(merchant_id: str, key_id: str) -> None:
    """Revoke a key at once."""

    async def work(session: AsyncSession) -> None:
        await merchant_service.revoke(session, merchant_id, key_id)

    _run(work)
    console.print(f"revoked {key_id}")


@merchants_app.command("roll-key")
def roll_key(
    merchant_id: str,
    key_id: str,
    grace_hours: Annotated[int, typer.Option(min=0, max=168, help="Hours the old key keeps working.")] = 0,
) -> None:
    """Replace a key with a new one of the same kind and mode; the new key is printed once."""
    from datetime import timedelta

    async def work(session: AsyncSession) -> str:
        issued = await merchant_service.roll(session, merchant_id, key_id, grace=timedelta(hours=grace_hours))
        return issued.secret

    console.print(_run(work))


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (run this explicitly in production; dev upgrades on start)."""
    from sluice.db.migrate import upgrade

    upgrade(resolve_database_url(get_settings()), revision)
    console.print(f"database at {revision}")
