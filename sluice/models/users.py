"""People: dashboard users, their memberships in merchant accounts, sessions, recovery codes and the
login attempts that throttling counts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, TimestampMixin
from sluice.ids import new_id


class Role(StrEnum):
    """A member's role in one merchant account (sluice.users.roles says what each may do)."""

    owner = "owner"
    admin = "admin"
    developer = "developer"
    support = "support"
    analyst = "analyst"


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("usr"))
    #: Lower-cased; unique.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    #: argon2id PHC string; None for an invited user who has not set a password yet.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    #: AES-256-GCM of the base32 TOTP secret (sluice.webhooks.secrets.SecretBox, bound to the user id).
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Set once a code from the authenticator app was verified; 2FA is required from then on.
    totp_enabled_at: Mapped[datetime | None]
    #: The last TOTP time step accepted, so one code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: The installation's operator: may use the platform pages and manage every merchant.
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]


class Membership(TimestampMixin, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "merchant_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("mem"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(String(20))


class RecoveryCode(TimestampMixin, Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: sha256 of the code (codes are 50-bit random and single-use, like API keys).
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class DashboardSession(TimestampMixin, Base):
    """A signed-in browser. The cookie holds a random token; only its sha256 is stored."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: The account being viewed, and in which mode (test/live); switched from the dashboard.
    merchant_id: Mapped[str | None] = mapped_column(ForeignKey("merchants.id", ondelete="SET NULL"))
    livemode: Mapped[bool] = mapped_column(default=False)
    #: Synchronizer token every state-changing form carries.
    csrf_token: Mapped[str] = mapped_column(String(64))
    #: Password checked, second factor still owed: such a session may only reach the 2FA page.
    mfa_pending: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(45))


class LoginAttempt(Base):
    """One failed sign-in (password or second factor), counted by email and by address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "created_at"),
        Index("ix_login_attempts_ip_at", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime]


class PlatformApiKey(TimestampMixin, Base):
    """The operator's key for /v1/accounts (`plk_…`); stored as a sha256 hash like merchant keys."""

    __tablename__ = "platform_api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("plk"))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
