"""`sluice users …` and `sluice platform …`: dashboard users and the operator's platform keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from launcher.commands.merchants import _run
from sluice.accounts import platform_keys
from sluice.config import get_settings
from sluice.merchants.service import merchant_service
from sluice.models.users import Role
from sluice.users.service import user_service
from sluice.users.team import team_service

users_app = typer.Typer(name="users", help="Dashboard users and their roles.", no_args_is_help=True)
platform_app = typer.Typer(name="platform", help="The platform operator's API keys.", no_args_is_help=True)
console = Console()


@users_app.command("create")
def create_user(
    email: str,
    merchant: Annotated[
        str | None, typer.Option(help="Make the user a member of this merchant (acct_…).")
    ] = None,
    role: Annotated[Role, typer.Option(help="The role in --merchant.")] = Role.owner,
    platform_admin: Annotated[bool, typer.Option(help="The installation's operator.")] = False,
) -> None:
    """Create a user and print a link to choose a password (valid 24 hours; no password is typed here)."""

    async def work(session: AsyncSession) -> str:
        user = await user_service.create(session, email, None, platform_admin=platform_admin)
        if merchant:
            await merchant_service.get(session, merchant)
            await team_service.add(session, merchant, user.id, role)
        return user_service.link(get_settings(), user, "invite")

    link = _run(work)
    console.print(f"user created; choose a password at:\n{link}")


@users_app.command("reset-link")
def reset_link(email: str) -> None:
    """Print a password-reset link for a user (for an operator helping someone locked out)."""

    async def work(session: AsyncSession) -> str:
        user = await user_service.find(session, email)
        if user is None:
            raise typer.BadParameter(f"no user {email!r}")
        return user_service.link(get_settings(), user, "reset")

    console.print(_run(work))


@platform_app.command("issue-key")
def issue_key(description: Annotated[str | None, typer.Option(help="What the key is for.")] = None) -> None:
    """Issue a platform API key (plk_…) for /v1/accounts; shown once, stored hashed."""

    async def work(session: AsyncSession) -> str:
        return (await platform_keys.issue(session, description)).secret

    console.print(_run(work))


@platform_app.command("revoke-key")
def revoke_key(key_id: str) -> None:
    """Revoke a platform API key by id (plk_…)."""

    async def work(session: AsyncSession) -> None:
        await platform_keys.revoke(session, key_id)

    _run(work)
    console.print(f"revoked {key_id}")
