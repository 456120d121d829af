"""Users: creating them, signing in with throttling, lock-out and a TOTP second factor, recovery
codes, password resets. Failed attempts are flushed before the error is raised: the caller commits
them (the dashboard catches these errors and answers with a page, so its transaction commits)."""

from __future__ import annotations

from datetime import timedelta

import structlog
from anyio import to_thread
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.clock import utcnow
from sluice.config import Settings
from sluice.errors import InvalidRequestError, NotFoundError
from sluice.models.users import LoginAttempt, RecoveryCode, User
from sluice.users import passwords, tokens, totp
from sluice.users.errors import AccountLockedError, InvalidTokenError, LoginFailedError
from sluice.users.mailer import Mailer, Message
from sluice.webhooks.secrets import secret_box

log = structlog.get_logger(__name__)
MAX_EMAIL = 254


def normalize_email(email: str, *, param: str = "email") -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise InvalidRequestError(f"not an email address: {email!r}", param=param, code="email_invalid")
    return email


class UserService:
    # ------------------------------------------------------------------ users

    async def create(
        self,
        session: AsyncSession,
        email: str,
        password: str | None,
        *,
        name: str | None = None,
        platform_admin: bool = False,
    ) -> User:
        """A user; without a password it can only sign in after following an invitation link."""
        email = normalize_email(email)
        if await self.find(session, email) is not None:
            raise InvalidRequestError(
                "a user with this email already exists", param="email", code="email_taken"
            )
        user = User(
            email=email,
            name=(name or "").strip()[:200] or None,
            password_hash=await _hash(password) if password is not None else None,
            is_platform_admin=platform_admin,
            failed_logins=0,
        )
        session.add(user)
        await session.flush()
        return user

    async def find(self, session: AsyncSession, email: str) -> User | None:
        return (
            await session.execute(select(User).where(User.email == email.strip().lower()))
        ).scalar_one_or_none()

    async def get(self, session: AsyncSession, user_id: str) -> User:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFoundError(f"no user {user_id!r}", param="user")
        return user

    # ---------------------------------------------------------------- sign-in

    async def login(
        self, session: AsyncSession, settings: Settings, email: str, password: str, ip: str | None
    ) -> User:
        """The user whose password this is; LoginFailedError otherwise (never saying which part was
        wrong), AccountLockedError while the account or the address is locked out."""
        email = email.strip().lower()[:MAX_EMAIL]
        user = (
            await session.execute(select(User).where(User.email == email).with_for_update())
        ).scalar_one_or_none()
        await self._check_locks(session, settings, user, ip)
        matched = await to_thread.run_sync(
            passwords.verify_password, user.password_hash if user else None, password
        )
        if user is None or not matched:
            await self._failed(session, settings, email, ip, user)
            raise LoginFailedError("wrong email or password")
        if user.password_hash and passwords.needs_rehash(user.password_hash):
            user.password_hash = await _hash(password)
        if user.totp_enabled_at is None:
            self._succeeded(user)
        return user

    async def verify_second_factor(
        self, session: AsyncSession, settings: Settings, user: User, code: str, ip: str | None
    ) -> None:
        """Accepts a current TOTP code (each at most once) or an unused recovery code (then spent)."""
        await session.refresh(user, with_for_update=True)
        await self._check_locks(session, settings, user, ip)
        if await self._second_factor_matches(session, settings, user, code):
            self._succeeded(user)
            return
        await self._failed(session, settings, user.email, ip, user)
        raise LoginFailedError("wrong code")

    async def _second_factor_matches(
        self, session: AsyncSession, settings: Settings, user: User, code: str
    ) -> bool:
        if user.totp_secret_encrypted is None or user.totp_enabled_at is None:
            return False
        code = code.strip()
        if code.replace(" ", "").isdigit():
            secret = secret_box(settings).decrypt(user.totp_secret_encrypted, f"totp:{user.id}")
            step = totp.matching_step(secret, code, last_step=user.totp_last_step)
            if step is None:
                return False
            user.totp_last_step = step
            return True
        spent = await session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == totp.hash_recovery_code(code),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
            .returning(RecoveryCode.id)
        )
        if spent.first() is None:
            return False
        log.info("recovery_code_used", user_id=user.id)
        return True

    async def _check_locks(
        self, session: AsyncSession, settings: Settings, user: User | None, ip: str | None
    ) -> None:
        now = utcnow()
        if user is not None and user.locked_until is not None and user.locked_until > now:
            raise AccountLockedError(
                "too many failed sign-ins: this account is locked for a while",
                retry_after=(user.locked_until - now).total_seconds(),
            )
        if ip is not None:
            window = now - timedelta(seconds=settings.login_lockout_seconds)
            recent = await session.scalar(
                select(func.count()).where(LoginAttempt.ip == ip, LoginAttempt.created_at > window)
            )
            if (recent or 0) >= settings.login_max_failures_per_ip:
                raise AccountLockedError(
                    "too many failed sign-ins from this address; try again later",
                    retry_after=settings.login_lockout_seconds,
                )

    async def _failed(
        self, session: AsyncSession, settings: Settings, email: str, ip: str | None, user: User | None
    ) -> None:
        now = utcnow()
        session.add(LoginAttempt(email=email, ip=ip, created_at=now))
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
                user.failed_logins = 0
                log.warning("user_locked_out", user_id=user.id)
        log.info("login_failed", user_id=user.id if user else None, ip=ip)
        await session.flush()

    @staticmethod
    def _succeeded(user: User) -> None:
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = utcnow()
        log.info("login_succeeded", user_id=user.id)

    # ------------------------------------------------------------------- TOTP

    def start_totp(self, settings: Settings, user: User) -> str:
        """A new secret for the authenticator app, stored but not in force until `confirm_totp`."""
        secret = totp.new_secret()
        user.totp_secret_encrypted = secret_box(settings).encrypt(secret, f"totp:{user.id}")
        user.totp_enabled_at = None
        return secret

    def pending_totp_secret(self, settings: Settings, user: User) -> str | None:
        if user.totp_secret_encrypted is None or user.totp_enabled_at is not None:
            return None
        return secret_box(settings).decrypt(user.totp_secret_encrypted, f"totp:{user.id}")

    async def confirm_totp(
        self, session: AsyncSession, settings: Settings, user: User, code: str
    ) -> list[str]:
        """Turns 2FA on once the app shows the right code; returns fresh recovery codes (shown once)."""
        secret = self.pending_totp_secret(settings, user)
        if secret is None:
            raise InvalidRequestError("start two-factor set-up first", code="totp_not_started")
        step = totp.matching_step(secret, code)
        if step is None:
            raise InvalidRequestError("that code does not match; check the app's clock", param="code")
        user.totp_enabled_at = utcnow()
        user.totp_last_step = step
        return await self.new_recovery_codes(session, user)

    async def new_recovery_codes(self, session: AsyncSession, user: User) -> list[str]:
        """Replaces the user's recovery codes; the plain codes are returned once and stored hashed."""
        await session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
            .values(used_at=utcnow())
        )
        codes = totp.new_recovery_codes()
        session.add_all(RecoveryCode(user_id=user.id, code_hash=totp.hash_recovery_code(c)) for c in codes)
        await session.flush()
        return codes

    async def disable_totp(self, user: User, password: str) -> None:
        if not await to_thread.run_sync(passwords.verify_password, user.password_hash, password):
            raise InvalidRequestError("wrong password", param="password", code="password_wrong")
        user.totp_secret_encrypted = None
        user.totp_enabled_at = None
        user.totp_last_step = None

    # --------------------------------------------------------------- passwords

    async def change_password(self, user: User, current: str, new: str) -> None:
        if not await to_thread.run_sync(passwords.verify_password, user.password_hash, current):
            raise InvalidRequestError("the current password is wrong", param="current_password")
        user.password_hash = await _hash(new)

    async def set_password(self, user: User, password: str) -> None:
        """Sets a password outright (operator tools; users go through a link or their old password)."""
        user.password_hash = await _hash(password)

    def link(self, settings: Settings, user: User, purpose: tokens.Purpose) -> str:
        """A signed link to set a password (reset or invitation)."""
        ttl = settings.password_reset_ttl_seconds * (24 if purpose == "invite" else 1)
        expires = int(utcnow().timestamp()) + ttl
        token = tokens.issue(tokens.signing_key(settings), user.id, purpose, expires, user.password_hash)
        path = "reset" if purpose == "reset" else "accept"
        return f"{settings.dashboard_url.rstrip('/')}/{path}?token={token}"

    async def request_reset(
        self, session: AsyncSession, settings: Settings, mailer: Mailer, email: str
    ) -> None:
        """Mails a reset link when the email is a user's; says nothing either way (no enumeration)."""
        user = await self.find(session, email[:MAX_EMAIL])
        if user is None:
            log.info("password_reset_unknown_email")
            return
        await mailer.send(
            Message(
                to=user.email,
                subject="Reset your Sluice password",
                body=(
                    "Someone asked to reset the password of your Sluice dashboard account.\n"
                    f"Set a new one here (valid for {settings.password_reset_ttl_seconds // 60} minutes):\n"
                    f"{self.link(settings, user, 'reset')}\n\nIf it was not you, ignore this message."
                ),
            )
        )
        log.info("password_reset_sent", user_id=user.id)

    async def set_password_with_token(
        self, session: AsyncSession, settings: Settings, token: str, purpose: tokens.Purpose, password: str
    ) -> User:
        """Sets the password a reset or invitation link is for; the link is spent by doing so."""
        passwords.check_policy(password)
        user = await session.get(User, tokens.read_user_id(token), with_for_update=True)
        if user is None:
            raise InvalidTokenError("this link is not valid")
        tokens.verify(
            tokens.signing_key(settings), token, purpose, int(utcnow().timestamp()), user.password_hash
        )
        user.password_hash = await _hash(password)
        user.failed_logins = 0
        user.locked_until = None
        return user


async def _hash(password: str) -> str:
    """argon2 takes tens of milliseconds: off the event loop."""
    passwords.check_policy(password)
    return await to_thread.run_sync(passwords.hash_password, password)


user_service = UserService()
