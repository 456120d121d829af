"""Merchant accounts as the platform operator manages them: create, update terms, suspend, sign-up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.accounts import branding
from sluice.chain.registry import Registry
from sluice.db.pagination import keyset_page
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.intents.service import max_fee_bps
from sluice.merchants import payout
from sluice.merchants.service import merchant_service
from sluice.models.merchant import Merchant, MerchantStatus
from sluice.models.users import Role, User
from sluice.rails.registry import Rails
from sluice.users.service import user_service
from sluice.users.team import team_service

#: Keeps a field as it is in `update` (None means "back to the platform default" for fee_bps).
UNSET = object()


def fee_bound(registry: Registry) -> int:
    """The highest fee a merchant may be given: the lowest of the contracts' bounds over the
    configured networks (the fee is signed into every intent, on whichever network)."""
    bounds = [max_fee_bps(network.name) for network in registry]
    return min(bounds) if bounds else max_fee_bps("local")


def check_fee(registry: Registry, fee_bps: int | None) -> int | None:
    if fee_bps is None:
        return None
    bound = fee_bound(registry)
    if not 0 <= fee_bps <= bound:
        raise InvalidRequestError(
            f"fee_bps must be between 0 and {bound} (the contracts' maximum fee)",
            param="fee_bps",
            code="fee_too_high" if fee_bps > bound else "parameter_invalid",
        )
    return fee_bps


@dataclass(frozen=True)
class SignedUp:
    user: User
    merchant: Merchant


class AccountService:
    async def create(
        self,
        session: AsyncSession,
        registry: Registry,
        *,
        name: str,
        payout_address: str | None = None,
        payout_addresses: Mapping[str, str | None] | None = None,
        rails: Rails | None = None,
        fee_bps: int | None = None,
    ) -> Merchant:
        fee = check_fee(registry, fee_bps)
        merchant = await merchant_service.create(
            session, name, payout_address, payout_addresses=payout_addresses, rails=rails
        )
        merchant.fee_bps = fee
        merchant.status = MerchantStatus.active
        await session.flush()
        return merchant

    async def update(
        self,
        session: AsyncSession,
        registry: Registry,
        merchant_id: str,
        *,
        name: str | None = None,
        payout_address: object = UNSET,
        payout_addresses: Mapping[str, str | None] | None = None,
        rails: Rails | None = None,
        fee_bps: object = UNSET,
    ) -> Merchant:
        """Changes what is given: `payout_address` is the EVM payout address (None removes it),
        `payout_addresses` sets (or, with None, removes) the addresses of the families it names."""
        merchant = await merchant_service.get(session, merchant_id)
        if name is not None:
            name = name.strip()
            if not name or len(name) > 200:
                raise InvalidRequestError("a merchant name is 1 to 200 characters", param="name")
            merchant.name = name
        changes = payout.changes(
            payout_addresses,
            evm=str(payout_address) if payout_address else None,
            evm_given=payout_address is not UNSET,
        )
        if changes:
            # A new dict: the JSONB column is saved when the attribute is assigned, not mutated.
            merchant.payout_addresses = payout.merged(merchant.payout_addresses, changes, rails)
        if fee_bps is not UNSET:
            merchant.fee_bps = check_fee(registry, fee_bps if isinstance(fee_bps, int) else None)
        await session.flush()
        return merchant

    async def set_branding(
        self,
        session: AsyncSession,
        merchant_id: str,
        *,
        color: str | None,
        logo: bytes | None = None,
        remove_logo: bool = False,
    ) -> Merchant:
        """The checkout's accent colour (None: the default) and logo (unchanged unless given or removed)."""
        merchant = await merchant_service.get(session, merchant_id)
        merchant.brand_color = branding.check_color(color) if color else None
        if logo:
            merchant.brand_logo_type = branding.logo_type(logo)
            merchant.brand_logo = logo
        elif remove_logo:
            merchant.brand_logo, merchant.brand_logo_type = None, None
        await session.flush()
        return merchant

    async def set_status(self, session: AsyncSession, merchant_id: str, status: MerchantStatus) -> Merchant:
        merchant = await session.get(Merchant, merchant_id, with_for_update=True)
        if merchant is None:
            await merchant_service.get(session, merchant_id)  # raises NotFoundError
        assert merchant is not None
        merchant.status = status
        await session.flush()
        return merchant

    async def list(
        self,
        session: AsyncSession,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        status: MerchantStatus | None = None,
    ) -> tuple[list[Merchant], bool]:
        stmt = select(Merchant)
        if status is not None:
            stmt = stmt.where(Merchant.status == status)

        async def position(merchant_id: str | None, param: str) -> tuple[Any, Any] | None:
            if merchant_id is None:
                return None
            merchant = await session.get(Merchant, merchant_id)
            if merchant is None:
                raise NotFoundError(f"no such account: {merchant_id!r}", param=param)
            return merchant.created_at, merchant.id

        if starting_after and ending_before:
            raise InvalidRequestError("give starting_after or ending_before, not both", param="ending_before")
        rows, has_more = await keyset_page(
            session,
            stmt,
            Merchant.created_at,
            Merchant.id,
            limit=limit,
            after=await position(starting_after, "starting_after"),
            before=await position(ending_before, "ending_before"),
        )
        return list(rows), has_more

    async def sign_up(
        self, session: AsyncSession, registry: Registry, *, email: str, password: str, business_name: str
    ) -> SignedUp:
        """Self sign-up (when the operator allows it): a merchant and its first user, as owner."""
        user = await user_service.create(session, email, password)
        merchant = await self.create(session, registry, name=business_name)
        await team_service.add(session, merchant.id, user.id, Role.owner)
        return SignedUp(user, merchant)


account_service = AccountService()
