"""Server-side dashboard sessions: the cookie carries a random token, the database its sha256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.clock import utcnow
from sluice.config import Settings
from sluice.models.users import DashboardSession, User

#: last_seen_at is written at most this often (not on every page view).
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    """A session as created: `token` goes into the cookie and is never stored."""

    row: DashboardSession
    token: str


async def create(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    merchant_id: str | None,
    livemode: bool = False,
    mfa_pending: bool = False,
    ip: str | None = None,
) -> NewSession:
    now = utcnow()
    token = secrets.token_urlsafe(32)
    row = DashboardSession(
        id=_hash(token),
        user_id=user.id,
        merchant_id=merchant_id,
        livemode=livemode,
        csrf_token=secrets.token_urlsafe(32),
        mfa_pending=mfa_pending,
        # A half-signed-in session (second factor owed) lives five minutes.
        expires_at=now
        + (timedelta(minutes=5) if mfa_pending else timedelta(hours=settings.dashboard_session_hours)),
        last_seen_at=now,
        ip=ip,
    )
    session.add(row)
    await session.flush()
    return NewSession(row, token)


async def load(
    session: AsyncSession, settings: Settings, token: str | None
) -> tuple[DashboardSession, User] | None:
    """The live session of a cookie and its user; expired or idle sessions are deleted and None."""
    if not token or len(token) > 100:
        return None
    found = (
        await session.execute(
            select(DashboardSession, User)
            .join(User, User.id == DashboardSession.user_id)
            .where(DashboardSession.id == _hash(token))
        )
    ).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if row.expires_at <= now or row.last_seen_at + timedelta(minutes=settings.dashboard_idle_minutes) <= now:
        await session.execute(delete(DashboardSession).where(DashboardSession.id == row.id))
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, user


async def destroy(session: AsyncSession, session_id: str) -> None:
    await session.execute(delete(DashboardSession).where(DashboardSession.id == session_id))


async def destroy_all(session: AsyncSession, user_id: str, *, keep: str | None = None) -> None:
    """Signs the user out everywhere (after a password change or reset), except session `keep`."""
    stmt = delete(DashboardSession).where(DashboardSession.user_id == user_id)
    if keep is not None:
        stmt = stmt.where(DashboardSession.id != keep)
    await session.execute(stmt)


async def switch(session: AsyncSession, session_id: str, *, merchant_id: str | None, livemode: bool) -> None:
    await session.execute(
        update(DashboardSession)
        .where(DashboardSession.id == session_id)
        .values(merchant_id=merchant_id, livemode=livemode)
    )
