"""The platform operator's pages (users with `is_platform_admin`): merchant accounts, their fee and
status, and the platform's fee revenue, through the services behind /v1/accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from api.audit import client_ip
from api.dashboard.web import PREFIX, CurrentMember, DashboardRoute, Member, redirect, render
from sluice.accounts.revenue import platform_revenue
from sluice.accounts.service import UNSET, account_service, fee_bound
from sluice.audit.service import record
from sluice.checkout.service import format_units
from sluice.errors import InvalidRequestError, PermissionDeniedError
from sluice.models.merchant import MerchantStatus
from sluice.reports.filters import AssetBook

router = APIRouter(prefix=f"{PREFIX}/platform", route_class=DashboardRoute, include_in_schema=False)


async def operator(member: CurrentMember) -> Member:
    if not member.user.is_platform_admin:
        raise PermissionDeniedError("only the platform operator may do this", code="platform_only")
    return member


Operator = Annotated[Member, Depends(operator)]


async def _audit(request: Request, member: Member, action: str, merchant_id: str) -> None:
    await record(
        member.session,
        merchant_id=merchant_id,
        api_key_id=None,
        user_id=member.user.id,
        action=action,
        object_id=merchant_id,
        ip=client_ip(request, request.app.state.settings.trusted_proxy_hops),
        request_id=getattr(request.state, "request_id", None),
        status_code=200,
    )


def _fee(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidRequestError("fee_bps is a whole number of basis points", param="fee_bps")
    return int(value)


@router.get("")
async def platform_page(request: Request, member: Operator) -> Response:
    registry = request.app.state.intents.registry
    accounts, has_more = await account_service.list(member.session, limit=100)
    book = AssetBook(registry)
    revenue = []
    for r in await platform_revenue(member.session):
        ref = book.ref(r.network, r.token)
        revenue.append(
            {
                "network": r.network,
                "asset": ref.symbol,
                "mode": "live" if r.livemode else "test",
                "amount": format_units(r.amount, ref.decimals),
                "payments": r.payments,
            }
        )
    return render(
        request,
        "platform.html",
        {
            "accounts": accounts,
            "has_more": has_more,
            "revenue": revenue,
            "max_fee": fee_bound(registry),
            "default_fee": request.app.state.settings.platform_fee_bps,
        },
    )


@router.post("/accounts")
async def create_account(
    request: Request,
    member: Operator,
    name: Annotated[str, Form(max_length=200)],
    payout_address: Annotated[str, Form(max_length=100)] = "",
    fee_bps: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    merchant = await account_service.create(
        member.session,
        request.app.state.intents.registry,
        name=name,
        payout_address=payout_address.strip() or None,
        fee_bps=_fee(fee_bps),
    )
    await _audit(request, member, "account.create", merchant.id)
    return redirect(f"{PREFIX}/platform")


@router.post("/accounts/{account_id}/fee")
async def set_fee(
    request: Request, member: Operator, account_id: str, fee_bps: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    await account_service.update(
        member.session,
        request.app.state.intents.registry,
        account_id,
        payout_address=UNSET,
        fee_bps=_fee(fee_bps),
    )
    await _audit(request, member, "account.update", account_id)
    return redirect(f"{PREFIX}/platform")


@router.post("/accounts/{account_id}/{action}")
async def set_status(request: Request, member: Operator, account_id: str, action: str) -> Response:
    statuses = {"suspend": MerchantStatus.suspended, "reactivate": MerchantStatus.active}
    if action not in statuses:
        raise InvalidRequestError(f"unknown action {action!r}", param="action")
    await account_service.set_status(member.session, account_id, statuses[action])
    await _audit(request, member, f"account.{action}", account_id)
    return redirect(f"{PREFIX}/platform")
