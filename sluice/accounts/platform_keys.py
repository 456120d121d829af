"""Platform API keys (`plk_…`): the operator's credential for /v1/accounts; stored as sha256 like
merchant keys, shown once."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.clock import utcnow
from sluice.errors import AuthenticationError, NotFoundError
from sluice.ids import random_token
from sluice.models.users import PlatformApiKey

KEY_PATTERN = re.compile(r"^plk_[A-Za-z0-9]{40}$")
VISIBLE = 12


@dataclass(frozen=True)
class IssuedPlatformKey:
    key: PlatformApiKey
    secret: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_platform_key(secret: str) -> bool:
    return secret.startswith("plk_")


async def issue(session: AsyncSession, description: str | None = None) -> IssuedPlatformKey:
    secret = f"plk_{random_token(40)}"
    key = PlatformApiKey(prefix=secret[:VISIBLE], key_hash=_hash(secret), description=description)
    session.add(key)
    await session.flush()
    return IssuedPlatformKey(key, secret)


async def authenticate(session: AsyncSession, secret: str) -> PlatformApiKey:
    if not KEY_PATTERN.match(secret):
        raise AuthenticationError("malformed platform key: expected plk_…")
    key = (
        await session.execute(select(PlatformApiKey).where(PlatformApiKey.key_hash == _hash(secret)))
    ).scalar_one_or_none()
    if key is None:
        raise AuthenticationError("invalid platform key")
    if key.revoked_at is not None:
        raise AuthenticationError("this platform key was revoked", code="api_key_revoked")
    return key


async def list_keys(session: AsyncSession) -> list[PlatformApiKey]:
    return list((await session.execute(select(PlatformApiKey).order_by(PlatformApiKey.created_at))).scalars())


async def revoke(session: AsyncSession, key_id: str) -> None:
    done = await session.execute(
        update(PlatformApiKey)
        .where(PlatformApiKey.id == key_id, PlatformApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(PlatformApiKey.id)
    )
    if done.first() is None:
        raise NotFoundError(f"no active platform key {key_id!r}", param="key")
