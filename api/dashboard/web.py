"""What every dashboard page shares: the session cookie, the signed-in member and their role, CSRF
checks, rendering, and turning errors into pages.

Every state-changing request is a POST that carries the session's CSRF token (form field
`csrf_token`) and, when the browser sends one, a same-origin `Origin`; both are checked here, on the
server, before the endpoint runs. So is the role: `Can(Permission.refund)` refuses a support-less
analyst's forged request exactly as it hides the button.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from api.audit import client_ip
from api.deps import Session
from sluice.audit.service import record
from sluice.config import Settings
from sluice.errors import PermissionDeniedError, SluiceError
from sluice.merchants.service import Principal
from sluice.models.merchant import ApiKeyKind, Merchant, MerchantStatus, Mode
from sluice.models.users import DashboardSession, Membership, Role, User
from sluice.users import sessions as user_sessions
from sluice.users.mailer import ConsoleMailer, Mailer
from sluice.users.roles import ROLE_PERMISSIONS, Permission, require
from sluice.users.team import team_service

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
SESSION_COOKIE = "sluice_session"
LOGIN_CSRF_COOKIE = "sluice_login_csrf"
PREFIX = "/dashboard"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
}


class LoginRequiredError(SluiceError):
    """Raised when a page needs a signed-in user; the dashboard answers with a redirect to the login."""

    code = "login_required"
    error_type = "authentication_error"
    http_status = 401


class CsrfError(PermissionDeniedError):
    """Raised when a POST lacks the session's CSRF token or comes from another origin."""

    code = "csrf_failed"


@dataclass
class Member:
    """The signed-in user acting in one merchant account, in one mode."""

    request: Request
    session: AsyncSession
    user: User
    row: DashboardSession
    merchant: Merchant | None
    membership: Membership | None
    accounts: list[tuple[Membership, Merchant]] = field(default_factory=list)

    @property
    def role(self) -> Role:
        if self.membership is None:
            raise PermissionDeniedError("you are not a member of this account", code="not_a_member")
        return Role(self.membership.role)

    @property
    def livemode(self) -> bool:
        return self.row.livemode

    @property
    def principal(self) -> Principal:
        """What the shared services scope by: this account, this mode, full access (the role is
        checked before any service is called). The key id names the user, for the services that
        record one."""
        assert self.merchant is not None
        mode = Mode.live if self.row.livemode else Mode.test
        return Principal(self.merchant.id, self.user.id, ApiKeyKind.secret, mode)

    def can(self, permission: Permission | str) -> bool:
        return self.membership is not None and Permission(permission) in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        require(self.role, permission)

    async def audit(self, action: str, object_id: str | None = None, status_code: int = 200) -> None:
        """One audit row with this user, in the request's transaction (commits with the change)."""
        assert self.merchant is not None
        settings: Settings = self.request.app.state.settings
        await record(
            self.session,
            merchant_id=self.merchant.id,
            api_key_id=None,
            user_id=self.user.id,
            action=action,
            object_id=object_id,
            ip=client_ip(self.request, settings.trusted_proxy_hops),
            request_id=getattr(self.request.state, "request_id", None),
            status_code=status_code,
        )


async def _signed_in(request: Request, session: Session) -> tuple[DashboardSession, User]:
    found = await user_sessions.load(session, request.app.state.settings, request.cookies.get(SESSION_COOKIE))
    if found is None or found[0].mfa_pending:
        raise LoginRequiredError("sign in first")
    return found


async def _check_csrf(request: Request, row: DashboardSession) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    check_origin(request)
    form = await request.form()
    presented = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
    if not isinstance(presented, str) or not hmac.compare_digest(presented, row.csrf_token):
        raise CsrfError("this form has expired or did not come from the dashboard; reload the page")


def check_origin(request: Request) -> None:
    """A cross-site POST is refused when the browser says where it came from."""
    origin = request.headers.get("origin")
    if (
        origin
        and origin != "null"
        and urlsplit(origin).netloc != request.headers.get("host", request.url.netloc)
    ):
        raise CsrfError("cross-origin request refused")


async def current_member(request: Request, session: Session) -> Member:
    """The signed-in user in the account their session shows (their first one by default)."""
    row, user = await _signed_in(request, session)
    await _check_csrf(request, row)
    accounts = await team_service.accounts_of(session, user.id)
    membership = next((m for m, _ in accounts if m.merchant_id == row.merchant_id), None)
    merchant = next((a for m, a in accounts if m.merchant_id == row.merchant_id), None)
    if membership is None and accounts:
        membership, merchant = accounts[0]
        row.merchant_id = merchant.id
    member = Member(request, session, user, row, merchant, membership, accounts)
    request.state.member = member
    return member


CurrentMember = Annotated[Member, Depends(current_member)]


def allowed(permission: Permission) -> Callable[[Member], Awaitable[Member]]:
    """A dependency: the member, when their role allows `permission` (checked before the endpoint
    runs). Use as `Annotated[Member, Depends(allowed(Permission.refund))]`."""

    async def dependency(member: CurrentMember) -> Member:
        if member.merchant is None:
            raise PermissionDeniedError("you are not a member of any merchant account", code="not_a_member")
        member.require(permission)
        return member

    return dependency


Viewer = Annotated[Member, Depends(allowed(Permission.view))]


def mailer_of(request: Request) -> Mailer:
    mailer: Mailer = getattr(request.app.state, "mailer", None) or ConsoleMailer()
    return mailer


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    member: Member | None = getattr(request.state, "member", None)
    base: dict[str, Any] = {
        "member": member,
        "csrf": member.row.csrf_token if member else getattr(request.state, "login_csrf", ""),
        "P": Permission,
        "suspended": bool(member and member.merchant and member.merchant.status == MerchantStatus.suspended),
        "path": request.url.path,
    }
    response = templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)
    response.headers.update(HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(HEADERS)
    return response


def login_csrf(request: Request, response_cookie: list[str]) -> str:
    """The double-submit token of the pages without a session (login, sign-up, reset)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    request.state.login_csrf = token
    response_cookie.append(token)
    return token


def check_login_csrf(request: Request, presented: str) -> None:
    check_origin(request)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not cookie or not hmac.compare_digest(cookie, presented):
        raise CsrfError("this form has expired; reload the page")


def set_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None
) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PREFIX,
        secure=settings.dashboard_cookie_secure,
        httponly=True,
        samesite="lax",
    )


class DashboardRoute(APIRoute):
    """Errors become pages: a missing sign-in redirects to the login; anything else the services
    refuse is shown with its status code (the request's transaction was rolled back already)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequiredError:
                target = request.url.path if request.method == "GET" else PREFIX
                return redirect(f"{PREFIX}/login?next={quote(target)}")
            except SluiceError as exc:
                request.state.member = None  # its rows were expired by the rollback
                back = request.headers.get("referer") or PREFIX
                if urlsplit(back).netloc not in ("", request.headers.get("host", "")):
                    back = PREFIX
                return render(
                    request,
                    "error.html",
                    {"error": exc, "back": back},
                    status_code=exc.http_status if exc.http_status >= 400 else 400,
                )

        return route


def page_response(response: Response) -> HTMLResponse:
    assert isinstance(response, HTMLResponse)
    return response
