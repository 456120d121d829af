"""Creating merchants, issuing, authenticating, revoking and rolling API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.clock import utcnow
from sluice.errors import AuthenticationError, InvalidRequestError, NotFoundError
from sluice.merchants import keys
from sluice.models.merchant import ApiKey, ApiKeyKind, Merchant, MerchantStatus, Mode


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
    """A principal with the merchant's terms that an intent signs (payout address, fee override), read
    with the key in one query: what creating an intent needs to know about its caller."""

    principal: Principal
    payout_address: str | None
    fee_bps: int | None
    #: A suspended merchant may read and settle what exists, but not create intents.
    suspended: bool = False


ZERO_ADDRESS = "0x" + "0" * 40


def check_address(value: str, param: str) -> str:
    """An EIP-55 address: mixed-case input must carry a valid checksum. Never the zero address: no one
    holds its key, the contracts refuse it as a payee (`ZeroAddress()`), and as an intent's payer it
    means "anyone may pay", the opposite of what naming a payer asks for."""
    if not is_hex_address(value):
        raise InvalidRequestError(
            f"{param} is not an address: {value!r}", param=param, code="invalid_address"
        )
    if value.lower() == ZERO_ADDRESS:
        raise InvalidRequestError(
            f"{param} is the zero address, which no one controls", param=param, code="invalid_address"
        )
    checked = _eip55(value)
    if checked is None:
        raise InvalidRequestError(
            f"{param} has a bad EIP-55 checksum: {value!r}", param=param, code="invalid_address"
        )
    return checked


@lru_cache(maxsize=4096)
def _eip55(value: str) -> str | None:
    """The checksummed form of a hex address, or None when mixed-case input carries a bad checksum.
    Memoized: each keccak costs tens of µs in Python, and fee recipients and payers recur."""
    if (
        value != value.lower()
        and value != value.upper().replace("0X", "0x")
        and not is_checksum_address(value)
    ):
        return None
    return str(to_checksum_address(value))


class MerchantService:
    async def create(self, session: AsyncSession, name: str, payout_address: str | None = None) -> Merchant:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidRequestError("a merchant name is 1 to 200 characters", param="name")
        merchant = Merchant(
            name=name,
            payout_address=check_address(payout_address, "payout_address") if payout_address else None,
        )
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
            principal, merchant.payout_address, merchant.fee_bps, merchant.status == MerchantStatus.suspended
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
