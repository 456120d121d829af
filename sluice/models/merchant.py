"""Merchants and their API keys (stored as a hash with a visible prefix)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sluice.db.base import Base, TimestampMixin
from sluice.ids import new_id


class Mode(StrEnum):
    """Test keys work only with local/testnet networks, live keys only with mainnets."""

    test = "test"
    live = "live"


class ApiKeyKind(StrEnum):
    secret = "secret"  # noqa: S105  (sk_… keys: full access)
    publishable = "publishable"  # pk_… checkout only
    restricted = "restricted"  # rk_… read-only


class MerchantStatus(StrEnum):
    """A suspended merchant's new intents are refused; what was already paid still settles."""

    active = "active"
    suspended = "suspended"


class Merchant(TimestampMixin, Base):
    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("acct"))
    name: Mapped[str] = mapped_column(String(200))
    #: Where payments are paid out, by chain family (sluice.merchants.payout): `{"evm": "0x…",
    #: "solana": "<base58>", "stacks": "SP…"}`. An intent signs the address of its network's family.
    payout_addresses: Mapped[dict[str, str]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    #: Platform fee override in basis points (None: the configured default).
    fee_bps: Mapped[int | None]
    #: Server default too: rows inserted by plain SQL (fixtures, scripts) are active.
    #: Checkout branding (sluice.accounts.branding): accent colour `#rrggbb`, logo bytes and type.
    brand_color: Mapped[str | None] = mapped_column(String(7))
    brand_logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    brand_logo_type: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[MerchantStatus] = mapped_column(
        String(16), default=MerchantStatus.active, server_default=MerchantStatus.active.value
    )

    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="merchant", lazy="raise")

    @property
    def payout_address(self) -> str | None:
        """The EVM payout address (the API's `payout_address`, kept for EVM-only integrations)."""
        return (self.payout_addresses or {}).get("evm")


class ApiKey(TimestampMixin, Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ApiKeyKind] = mapped_column(String(20))
    mode: Mapped[Mode] = mapped_column(String(10))
    #: The first characters of the key, shown in listings (`sk_test_4fQa…`).
    prefix: Mapped[str] = mapped_column(String(20))
    #: sha256 of the whole key; keys are 192-bit random, so a fast hash is safe and lookups are O(1).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    merchant: Mapped[Merchant] = relationship(back_populates="api_keys", lazy="raise")
