"""The dev stack's dashboard login: one owner of the demo merchant (and, the dev machine being the
platform, its operator), its password kept next to the database it belongs to (mode 600), so
`sluice dev` prints the same login on every run."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sluice.models.users import Role
from sluice.users.service import user_service
from sluice.users.team import team_service

DEV_EMAIL = "dev@sluice.localhost"


async def ensure_dev_user(
    sessions: async_sessionmaker[AsyncSession], merchant_id: str, path: Path
) -> tuple[str, str]:
    """(email, password) of the demo merchant's owner; created, or re-created when the saved one is
    unknown to this database (a reset stack)."""
    saved = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    async with sessions() as session, session.begin():
        user = await user_service.find(session, DEV_EMAIL)
        password = saved.get("password")
        if user is None or not password:
            password = "dev-" + secrets.token_urlsafe(12)
            if user is None:
                user = await user_service.create(
                    session, DEV_EMAIL, password, name="Sluice developer", platform_admin=True
                )
            else:
                await user_service.set_password(user, password)
        if await team_service.membership(session, user.id, merchant_id) is None:
            await team_service.add(session, merchant_id, user.id, Role.owner)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"email": DEV_EMAIL, "password": password}, f)
    return DEV_EMAIL, password
