"""Creating merchants, issuing, authenticating, revoking and rolling API keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.clock import utcnow
from sluice.errors import AuthenticationError, InvalidRequestError, NotFoundError
from sluice.merchants import keys, payout
from sluice.models.merchant import ApiKey, ApiKeyKind, Merchant, MerchantStatus, Mode

if TYPE_CHECKING:
    from sluice.rails.registry import Rails


@dataclass(frozen=True)
class IssuedKey:
    """A key as issued: the secret is shown once and never stored."""

    api_key: ApiKey
    secret: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: the merchant, the key's id, kind and mode."""

    merchant_id: str
    api_key_id: str
    kind: ApiKeyKind
    mode: Mode

    @property
    def livemode(self) -> bool:
        return self.mode == Mode.live


@dataclass(frozen=True)
class Account:
    """A principal with the merchant's terms that an intent signs (payout addresses by chain family,
    fee override), read with the key in one query: what creating an intent needs to know about its
    caller."""

    principal: Principal
    payout_addresses: Mapping[str, str]
    fee_bps: int | None
    #: A suspended merchant may read and settle what exists, but not create intents.
    suspended: bool = False


class MerchantService:
    async def create(
        self,
        session: AsyncSession,
        name: str,
        payout_address: str | None = None,
        *,
        payout_addresses: Mapping[str, str | None] | None = None,
        rails: Rails | None = None,
    ) -> Merchant:
        """A new merchant. `payout_address` is the EVM one (as `payout_addresses={"evm": …}`);
        addresses of other families are checked by the process's `rails` (sluice.merchants.payout)."""
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidRequestError("a merchant name is 1 to 200 characters", param="name")
        given = payout.changes(payout_addresses, evm=payout_address, evm_given=payout_address is not None)
        merchant = Merchant(name=name, payout_addresses=payout.merged({}, given, rails))
        session.add(merchant)
        await session.flush()
        return merchant

    async def get(self, session: AsyncSession, merchant_id: str) -> Merchant:
        merchant = await session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFoundError(f"no merchant {merchant_id!r}", param="merchant")
        return merchant

    async def issue_key(
        self,
        session: AsyncSession,
        merchant_id: str,
        kind: ApiKeyKind,
        mode: Mode,
        *,
        expires_at: datetime | None = None,
    ) -> IssuedKey:
        await self.get(session, merchant_id)
        secret = keys.generate(kind, mode)
        api_key = ApiKey(
            merchant_id=merchant_id,
            kind=kind,
            mode=mode,
            prefix=keys.visible_prefix(secret),
            key_hash=keys.hash_key(secret),
            expires_at=expires_at,
        )
        session.add(api_key)
        await session.flush()
        return IssuedKey(api_key, secret)

    async def authenticate(self, session: AsyncSession, secret: str) -> Principal:
        """The principal of a presented key; AuthenticationError for anything else (no detail leaked)."""
        return (await self.authenticate_account(session, secret)).principal

    async def authenticate_account(self, session: AsyncSession, secret: str) -> Account:
        """`authenticate`, with the merchant's terms that intents sign."""
        parsed = keys.parse(secret)
        if parsed is None:
            raise AuthenticationError("malformed API key: expected sk_test_…, sk_live_…, pk_… or rk_…")
        # The merchant is loaded with the key, so endpoints that need it find it in the session.
        found = (
            await session.execute(
                select(ApiKey)
                .join(Merchant)
                .where(ApiKey.key_hash == keys.hash_key(secret))
                .add_columns(Merchant)
            )
        ).first()
        now = utcnow()
        if found is None:
            raise AuthenticationError("invalid API key")
        row, merchant = found
        if row.revoked_at is not None and row.revoked_at <= now:
            raise AuthenticationError("this API key was revoked", code="api_key_revoked")
        if row.expires_at is not None and row.expires_at <= now:
            raise AuthenticationError("this API key has expired", code="api_key_expired")
        principal = Principal(row.merchant_id, row.id, ApiKeyKind(row.kind), Mode(row.mode))
        return Account(
            principal,
            dict(merchant.payout_addresses or {}),
            merchant.fee_bps,
            merchant.status == MerchantStatus.suspended,
        )

    async def list_keys(self, session: AsyncSession, merchant_id: str) -> list[ApiKey]:
        rows = await session.execute(
            select(ApiKey).where(ApiKey.merchant_id == merchant_id).order_by(ApiKey.created_at)
        )
        return list(rows.scalars())

    async def revoke(
        self, session: AsyncSession, merchant_id: str, key_id: str, *, at: datetime | None = None
    ) -> ApiKey:
        key = await session.get(ApiKey, key_id)
        if key is None or key.merchant_id != merchant_id:
            raise NotFoundError(f"no API key {key_id!r}", param="key")
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=at or utcnow()))
        await session.refresh(key)
        return key

    async def roll(
        self, session: AsyncSession, merchant_id: str, key_id: str, *, grace: timedelta = timedelta(0)
    ) -> IssuedKey:
        """A new key of the same kind and mode; the old one stops working after `grace`."""
        old = await session.get(ApiKey, key_id)
        if old is None or old.merchant_id != merchant_id:
            raise NotFoundError(f"no API key {key_id!r}", param="key")
        issued = await self.issue_key(session, merchant_id, ApiKeyKind(old.kind), Mode(old.mode))
        await self.revoke(session, merchant_id, key_id, at=utcnow() + grace)
        return issued


merchant_service = MerchantService()
