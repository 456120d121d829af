"""Signing in and out, the second factor, sign-up, password resets and invitations, and the
user's own security settings (two-factor set-up, recovery codes, password)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response

from api.audit import client_ip
from api.dashboard.web import (
    LOGIN_CSRF_COOKIE,
    PREFIX,
    SESSION_COOKIE,
    CsrfError,
    CurrentMember,
    DashboardRoute,
    Member,
    check_login_csrf,
    check_origin,
    login_csrf,
    mailer_of,
    redirect,
    render,
    set_cookie,
)
from api.deps import Session
from sluice.accounts.service import account_service
from sluice.chain.payment_uri import qr_svg
from sluice.config import Settings
from sluice.errors import PermissionDeniedError
from sluice.models.users import User
from sluice.users import sessions as user_sessions
from sluice.users import totp
from sluice.users.errors import AccountLockedError, LoginFailedError
from sluice.users.service import user_service
from sluice.users.team import team_service

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=300)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _next(target: str | None) -> str:
    """Only a dashboard path: never an open redirect to another site."""
    if target and target.startswith(PREFIX) and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX


def _public_page(request: Request, name: str, context: dict[str, object], status_code: int = 200) -> Response:
    tokens: list[str] = []
    login_csrf(request, tokens)
    response = render(request, name, context, status_code)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, tokens[0], max_age=3600)
    return response


async def _start_session(request: Request, session: Session, user: User, *, mfa_pending: bool) -> Response:
    settings = _settings(request)
    accounts = await team_service.accounts_of(session, user.id)
    old = request.cookies.get(SESSION_COOKIE)
    found = await user_sessions.load(session, settings, old)
    if found is not None:  # never keep a session id across a sign-in (session fixation)
        await user_sessions.destroy(session, found[0].id)
    new = await user_sessions.create(
        session,
        settings,
        user,
        merchant_id=accounts[0][1].id if accounts else None,
        mfa_pending=mfa_pending,
        ip=client_ip(request, settings.trusted_proxy_hops),
    )
    target = f"{PREFIX}/2fa" if mfa_pending else _next(request.query_params.get("next"))
    if target == PREFIX and not accounts and user.is_platform_admin:
        target = f"{PREFIX}/platform"
    response = redirect(target)
    max_age = 300 if mfa_pending else settings.dashboard_session_hours * 3600
    set_cookie(request, response, SESSION_COOKIE, new.token, max_age=max_age)
    return response


# ---------------------------------------------------------------------------------------- sign-in


@router.get("/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    return _public_page(
        request, "login.html", {"next": _next(next), "signup": _settings(request).dashboard_signup_enabled}
    )


@router.post("/login")
async def login(
    request: Request, session: Session, email: Text, password: Text, csrf_token: Text = ""
) -> Response:
    check_login_csrf(request, csrf_token)
    settings = _settings(request)
    ip = client_ip(request, settings.trusted_proxy_hops)
    try:
        user = await user_service.login(session, settings, email, password, ip)
    except (LoginFailedError, AccountLockedError) as exc:
        # Returned, not raised: the failed attempt is committed (throttling counts it).
        status = 429 if isinstance(exc, AccountLockedError) else 401
        response = _public_page(
            request,
            "login.html",
            {"error": str(exc), "email": email, "next": _next(request.query_params.get("next"))},
            status,
        )
        if isinstance(exc, AccountLockedError):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after)))
        return response
    return await _start_session(request, session, user, mfa_pending=user.totp_enabled_at is not None)


@router.get("/2fa")
async def second_factor_page(request: Request, session: Session) -> Response:
    found = await user_sessions.load(session, _settings(request), request.cookies.get(SESSION_COOKIE))
    if found is None or not found[0].mfa_pending:
        return redirect(f"{PREFIX}/login")
    return render(request, "two_factor.html", {"csrf": found[0].csrf_token})


@router.post("/2fa")
async def second_factor(request: Request, session: Session, code: Text, csrf_token: Text = "") -> Response:
    settings = _settings(request)
    found = await user_sessions.load(session, settings, request.cookies.get(SESSION_COOKIE))
    if found is None or not found[0].mfa_pending:
        return redirect(f"{PREFIX}/login")
    row, user = found
    check_login_csrf_token(request, row.csrf_token, csrf_token)
    try:
        await user_service.verify_second_factor(
            session, settings, user, code, client_ip(request, settings.trusted_proxy_hops)
        )
    except (LoginFailedError, AccountLockedError) as exc:
        status = 429 if isinstance(exc, AccountLockedError) else 401
        return render(request, "two_factor.html", {"csrf": row.csrf_token, "error": str(exc)}, status)
    return await _start_session(request, session, user, mfa_pending=False)


def check_login_csrf_token(request: Request, expected: str, presented: str) -> None:
    check_origin(request)
    if not hmac.compare_digest(expected, presented):
        raise CsrfError("this form has expired; sign in again")


@router.post("/logout")
async def logout(member: CurrentMember) -> Response:
    await user_sessions.destroy(member.session, member.row.id)
    response = redirect(f"{PREFIX}/login")
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


# ---------------------------------------------------------------------------------------- sign-up


@router.get("/signup")
async def signup_page(request: Request) -> Response:
    if not _settings(request).dashboard_signup_enabled:
        raise PermissionDeniedError("sign-up is closed on this installation", code="signup_disabled")
    return _public_page(request, "signup.html", {})


@router.post("/signup")
async def signup(
    request: Request,
    session: Session,
    email: Text,
    password: Text,
    business_name: Annotated[str, Form(max_length=200)],
    csrf_token: Text = "",
) -> Response:
    if not _settings(request).dashboard_signup_enabled:
        raise PermissionDeniedError("sign-up is closed on this installation", code="signup_disabled")
    check_login_csrf(request, csrf_token)
    created = await account_service.sign_up(
        session,
        request.app.state.intents.registry,
        email=email,
        password=password,
        business_name=business_name,
    )
    return await _start_session(request, session, created.user, mfa_pending=False)


# ------------------------------------------------------------------------- resets and invitations


@router.get("/forgot")
async def forgot_page(request: Request) -> Response:
    return _public_page(request, "forgot.html", {})


@router.post("/forgot")
async def forgot(request: Request, session: Session, email: Text, csrf_token: Text = "") -> Response:
    check_login_csrf(request, csrf_token)
    await user_service.request_reset(session, _settings(request), mailer_of(request), email)
    return _public_page(request, "forgot.html", {"sent": True})


@router.get("/reset")
async def reset_page(request: Request, token: Annotated[str, Query(max_length=400)]) -> Response:
    return _public_page(request, "set_password.html", {"token": token, "action": f"{PREFIX}/reset"})


@router.get("/accept")
async def accept_page(request: Request, token: Annotated[str, Query(max_length=400)]) -> Response:
    return _public_page(
        request, "set_password.html", {"token": token, "action": f"{PREFIX}/accept", "invite": True}
    )


@router.post("/reset")
async def reset(
    request: Request, session: Session, token: Text, password: Text, csrf_token: Text = ""
) -> Response:
    check_login_csrf(request, csrf_token)
    user = await user_service.set_password_with_token(session, _settings(request), token, "reset", password)
    await user_sessions.destroy_all(session, user.id)
    return redirect(f"{PREFIX}/login")


@router.post("/accept")
async def accept(
    request: Request, session: Session, token: Text, password: Text, csrf_token: Text = ""
) -> Response:
    check_login_csrf(request, csrf_token)
    user = await user_service.set_password_with_token(session, _settings(request), token, "invite", password)
    return await _start_session(request, session, user, mfa_pending=False)


# ------------------------------------------------------------------------------------- security


async def _audit_self(member: Member, action: str) -> None:
    """A change to the user's own sign-in, recorded in the log of every account they belong to
    (each account's owners can see how its members protect their access)."""
    shown = member.merchant, member.membership
    for membership, merchant in member.accounts:
        member.merchant, member.membership = merchant, membership
        await member.audit(action, member.user.id)
    member.merchant, member.membership = shown


@router.get("/security")
async def security_page(request: Request, member: CurrentMember) -> Response:
    return render(request, "security.html", {})


@router.post("/security/totp/start")
async def totp_start(request: Request, member: CurrentMember) -> Response:
    secret = user_service.start_totp(_settings(request), member.user)
    uri = totp.provisioning_uri(secret, member.user.email)
    return render(request, "security.html", {"totp_secret": secret, "totp_qr": qr_svg(uri)})


@router.post("/security/totp/confirm")
async def totp_confirm(request: Request, member: CurrentMember, code: Text) -> Response:
    codes = await user_service.confirm_totp(member.session, _settings(request), member.user, code)
    await _audit_self(member, "user.totp_enable")
    return render(request, "security.html", {"recovery_codes": codes})


@router.post("/security/totp/disable")
async def totp_disable(request: Request, member: CurrentMember, password: Text) -> Response:
    await user_service.disable_totp(member.user, password)
    await _audit_self(member, "user.totp_disable")
    return redirect(f"{PREFIX}/security")


@router.post("/security/recovery_codes")
async def recovery_codes(request: Request, member: CurrentMember) -> Response:
    if member.user.totp_enabled_at is None:
        return redirect(f"{PREFIX}/security")
    codes = await user_service.new_recovery_codes(member.session, member.user)
    await _audit_self(member, "user.recovery_codes")
    return render(request, "security.html", {"recovery_codes": codes})


@router.post("/security/password")
async def change_password(
    request: Request, member: CurrentMember, current_password: Text, new_password: Text
) -> Response:
    await user_service.change_password(member.user, current_password, new_password)
    await user_sessions.destroy_all(member.session, member.user.id, keep=member.row.id)
    await _audit_self(member, "user.password_change")
    return render(request, "security.html", {"notice": "Password changed; other sessions were signed out."})
