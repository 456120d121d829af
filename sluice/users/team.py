"""Memberships: who belongs to which merchant account with which role; inviting, changing, removing.

Owners are protected: only an owner may make, change or remove an owner, and the last owner of an
account cannot be demoted or removed (an account always has someone who can manage it).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.config import Settings
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.models.merchant import Merchant
from sluice.models.users import Membership, Role, User
from sluice.users.errors import RoleForbiddenError
from sluice.users.mailer import Mailer, Message
from sluice.users.service import normalize_email, user_service


class TeamService:
    async def accounts_of(self, session: AsyncSession, user_id: str) -> list[tuple[Membership, Merchant]]:
        rows = await session.execute(
            select(Membership, Merchant)
            .join(Merchant, Merchant.id == Membership.merchant_id)
            .where(Membership.user_id == user_id)
            .order_by(Merchant.name, Merchant.id)
        )
        return [(m, a) for m, a in rows.all()]

    async def membership(self, session: AsyncSession, user_id: str, merchant_id: str) -> Membership | None:
        return (
            await session.execute(
                select(Membership).where(Membership.user_id == user_id, Membership.merchant_id == merchant_id)
            )
        ).scalar_one_or_none()

    async def members(self, session: AsyncSession, merchant_id: str) -> list[tuple[Membership, User]]:
        rows = await session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.merchant_id == merchant_id)
            .order_by(Membership.created_at, Membership.id)
        )
        return [(m, u) for m, u in rows.all()]

    async def add(self, session: AsyncSession, merchant_id: str, user_id: str, role: Role) -> Membership:
        membership = Membership(user_id=user_id, merchant_id=merchant_id, role=Role(role))
        session.add(membership)
        await session.flush()
        return membership

    async def invite(
        self,
        session: AsyncSession,
        settings: Settings,
        mailer: Mailer,
        *,
        actor_role: Role,
        merchant: Merchant,
        email: str,
        role: Role | str,
    ) -> Membership:
        """Adds `email` to the account with `role`: an existing user is added and told; a new one gets
        a link to choose a password (valid 24 times as long as a reset link)."""
        granted = _role(role)
        _check_may_grant(actor_role, granted)
        email = normalize_email(email)
        user = await user_service.find(session, email)
        if user is not None and await self.membership(session, user.id, merchant.id) is not None:
            raise InvalidRequestError(f"{email} is already a member", param="email", code="already_member")
        if user is None:
            user = await user_service.create(session, email, None)
            link = user_service.link(settings, user, "invite")
            body = (
                f"You were invited to {merchant.name} on Sluice as {granted.value}.\n"
                f"Choose a password: {link}\n"
            )
        else:
            body = (
                f"You were added to {merchant.name} on Sluice as {granted.value}.\n"
                f"Sign in: {settings.dashboard_url.rstrip('/')}/login\n"
            )
        membership = await self.add(session, merchant.id, user.id, granted)
        await mailer.send(
            Message(to=email, subject=f"You were invited to {merchant.name} on Sluice", body=body)
        )
        return membership

    async def change_role(
        self,
        session: AsyncSession,
        *,
        actor_role: Role,
        merchant_id: str,
        membership_id: str,
        role: Role | str,
    ) -> Membership:
        new_role = _role(role)
        membership = await self._get(session, merchant_id, membership_id, lock=True)
        _check_may_grant(actor_role, Role(membership.role))
        _check_may_grant(actor_role, new_role)
        if membership.role == Role.owner and new_role != Role.owner:
            await self._keep_an_owner(session, merchant_id)
        membership.role = new_role
        return membership

    async def remove(
        self, session: AsyncSession, *, actor_role: Role, merchant_id: str, membership_id: str
    ) -> Membership:
        membership = await self._get(session, merchant_id, membership_id, lock=True)
        _check_may_grant(actor_role, Role(membership.role))
        if membership.role == Role.owner:
            await self._keep_an_owner(session, merchant_id)
        await session.delete(membership)
        await session.flush()
        return membership

    async def _get(
        self, session: AsyncSession, merchant_id: str, membership_id: str, *, lock: bool
    ) -> Membership:
        stmt = select(Membership).where(Membership.id == membership_id, Membership.merchant_id == merchant_id)
        found = (await session.execute(stmt.with_for_update() if lock else stmt)).scalar_one_or_none()
        if found is None:
            raise NotFoundError(f"no member {membership_id!r}", param="member")
        return found

    async def _keep_an_owner(self, session: AsyncSession, merchant_id: str) -> None:
        # The owners' rows are locked, so two owners cannot demote each other at the same moment.
        owners = (
            await session.execute(
                select(Membership.id)
                .where(Membership.merchant_id == merchant_id, Membership.role == Role.owner)
                .with_for_update()
            )
        ).all()
        if len(owners) <= 1:
            raise InvalidRequestError(
                "an account needs at least one owner: make someone else owner first", code="last_owner"
            )

    async def count(self, session: AsyncSession, merchant_id: str) -> int:
        return int(
            await session.scalar(select(func.count()).where(Membership.merchant_id == merchant_id)) or 0
        )


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise InvalidRequestError(
            f"unknown role {value!r}: one of {', '.join(r.value for r in Role)}", param="role"
        ) from exc


def _check_may_grant(actor_role: Role, role: Role) -> None:
    """Only an owner grants, changes or removes the owner role; team.manage is checked by the caller."""
    if role == Role.owner and actor_role != Role.owner:
        raise RoleForbiddenError("only an owner may make, change or remove an owner")


team_service = TeamService()
