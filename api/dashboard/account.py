"""Team (invite, change role, remove), the audit log, report downloads, and switching account or
mode (test and live are never shown together)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile

from api.dashboard.web import (
    PREFIX,
    CurrentMember,
    DashboardRoute,
    Member,
    Viewer,
    allowed,
    mailer_of,
    redirect,
    render,
)
from sluice.accounts.branding import MAX_LOGO_BYTES
from sluice.accounts.service import account_service
from sluice.dashboard.queries import audit_page
from sluice.errors import NotFoundError
from sluice.models.users import Role
from sluice.reports import format as fmt
from sluice.reports.filters import AssetBook, build_filters
from sluice.reports.queries import PAYMENT_TYPES, REFUND_TYPES, balances, event_page, summary
from sluice.reports.reconcile import latest_runs
from sluice.users import sessions as user_sessions
from sluice.users.roles import ROLE_DESCRIPTIONS, Permission
from sluice.users.team import team_service

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
TeamManager = Annotated[Member, Depends(allowed(Permission.team))]
Auditor = Annotated[Member, Depends(allowed(Permission.audit))]
SettingsManager = Annotated[Member, Depends(allowed(Permission.settings))]


@router.post("/switch")
async def switch(
    request: Request,
    member: CurrentMember,
    account: Annotated[str, Form(max_length=60)] = "",
    mode: Annotated[Literal["test", "live", ""], Form()] = "",
) -> Response:
    """Shows another account the user belongs to, or the other mode of this one."""
    merchant_id = account or (member.merchant.id if member.merchant else None)
    if merchant_id is not None and not any(m.merchant_id == merchant_id for m, _ in member.accounts):
        raise NotFoundError("you are not a member of that account", param="account")
    livemode = member.livemode if not mode else mode == "live"
    await user_sessions.switch(member.session, member.row.id, merchant_id=merchant_id, livemode=livemode)
    return redirect(PREFIX)


# ---------------------------------------------------------------------------------------- team


@router.get("/team")
async def team(request: Request, member: Viewer) -> Response:
    assert member.merchant is not None
    rows = await team_service.members(member.session, member.merchant.id)
    return render(
        request,
        "team.html",
        {"members": rows, "roles": [r.value for r in Role], "descriptions": ROLE_DESCRIPTIONS},
    )


@router.post("/team/invite")
async def invite(
    request: Request,
    member: TeamManager,
    email: Annotated[str, Form(max_length=254)],
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    assert member.merchant is not None
    membership = await team_service.invite(
        member.session,
        request.app.state.settings,
        mailer_of(request),
        actor_role=member.role,
        merchant=member.merchant,
        email=email,
        role=role,
    )
    await member.audit("member.invite", membership.id)
    return redirect(f"{PREFIX}/team")


@router.post("/team/{membership_id}/role")
async def change_role(
    request: Request, member: TeamManager, membership_id: str, role: Annotated[str, Form(max_length=20)]
) -> Response:
    assert member.merchant is not None
    await team_service.change_role(
        member.session,
        actor_role=member.role,
        merchant_id=member.merchant.id,
        membership_id=membership_id,
        role=role,
    )
    await member.audit("member.update", membership_id)
    return redirect(f"{PREFIX}/team")


@router.post("/team/{membership_id}/remove")
async def remove(request: Request, member: TeamManager, membership_id: str) -> Response:
    assert member.merchant is not None
    await team_service.remove(
        member.session, actor_role=member.role, merchant_id=member.merchant.id, membership_id=membership_id
    )
    await member.audit("member.remove", membership_id)
    return redirect(f"{PREFIX}/team")


# ------------------------------------------------------------------------------------ audit log


@router.get("/audit")
async def audit(
    request: Request, member: Auditor, starting_after: Annotated[str | None, Query(max_length=40)] = None
) -> Response:
    assert member.merchant is not None
    rows, has_more = await audit_page(
        member.session, member.merchant.id, limit=50, starting_after=starting_after
    )
    return render(request, "audit.html", {"rows": rows, "has_more": has_more})


# -------------------------------------------------------------------------------------- reports


@router.get("/reports")
async def reports(request: Request, member: Viewer) -> Response:
    filters = build_filters(
        request.app.state.intents.registry,
        member.principal,
        network=None,
        asset=None,
        status=None,
        created_gte=None,
        created_lte=None,
    )
    runs = await latest_runs(member.session, filters.networks)
    assets = AssetBook(request.app.state.intents.registry)
    assert member.merchant is not None
    recon = [fmt.reconciliation_object(run, member.merchant.id, assets) for run in runs]
    return render(request, "reports.html", {"runs": recon})


@router.get("/reports/{name}.csv")
async def download(request: Request, member: Viewer, name: str) -> Response:
    """The same CSV as /v1/reports/{name}?format=csv (first 1000 rows of the event reports)."""
    principal = member.principal
    registry = request.app.state.intents.registry
    filters = build_filters(
        registry, principal, network=None, asset=None, status=None, created_gte=None, created_lte=None
    )
    assets = AssetBook(registry)
    session = member.session
    if name in ("payments", "refunds"):
        names = PAYMENT_TYPES if name == "payments" else REFUND_TYPES
        rows, _ = await event_page(session, principal.merchant_id, filters, names, limit=1000)
        present = fmt.payment_object if name == "payments" else fmt.refund_object
        columns = fmt.PAYMENT_COLUMNS if name == "payments" else fmt.REFUND_COLUMNS
        body = fmt.to_csv(columns, [present(row, assets) for row in rows])
    elif name == "balances":
        data = [
            fmt.balance_object(b, assets) for b in await balances(session, principal.merchant_id, filters)
        ]
        body = fmt.to_csv(fmt.BALANCE_COLUMNS, data)
    elif name == "summary":
        obj = fmt.summary_object(await summary(session, principal.merchant_id, filters, "day"), "day", assets)
        body = fmt.to_csv(fmt.SUMMARY_COLUMNS, obj["periods"])
    else:
        raise NotFoundError(f"no report {name!r}", param="name")
    await member.audit("report.download", name)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"', "Cache-Control": "no-store"},
    )


# ------------------------------------------------------------------------------------- settings


@router.get("/settings")
async def settings_page(request: Request, member: Viewer) -> Response:
    settings = request.app.state.settings
    assert member.merchant is not None
    fee = settings.platform_fee_bps if member.merchant.fee_bps is None else member.merchant.fee_bps
    families = [f for f in request.app.state.intents.rails.families if f != "evm"]
    return render(
        request,
        "settings.html",
        {"fee_bps": fee, "notice": request.query_params.get("done"), "families": families},
    )


@router.post("/settings")
async def save_settings(
    request: Request,
    member: SettingsManager,
    name: Annotated[str, Form(max_length=200)],
    payout_address: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The account's name and payout addresses (EVM, and `payout_address_<family>` for each other
    chain family the rails offer; empty removes one), through the service the platform API uses
    (the fee is the operator's to set)."""
    assert member.merchant is not None
    rails = request.app.state.intents.rails
    form = await request.form()
    others = {
        family: str(form.get(f"payout_address_{family}", ""))[:100].strip() or None
        for family in rails.families
        if family != "evm"
    }
    await account_service.update(
        member.session,
        request.app.state.intents.registry,
        member.merchant.id,
        name=name,
        payout_address=payout_address.strip() or None,
        payout_addresses=others,
        rails=rails,
    )
    await member.audit("account.update", member.merchant.id)
    return redirect(f"{PREFIX}/settings?done=saved")


@router.post("/settings/branding")
async def save_branding(
    request: Request,
    member: SettingsManager,
    brand_color: Annotated[str, Form(max_length=7)] = "",
    use_color: Annotated[str, Form(max_length=3)] = "",
    remove_logo: Annotated[str, Form(max_length=3)] = "",
    logo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Checkout branding: accent colour (checked for contrast) and logo (PNG, JPEG or WebP, 100 KB)."""
    assert member.merchant is not None
    data = await logo.read(MAX_LOGO_BYTES + 1) if logo is not None and logo.filename else None
    await account_service.set_branding(
        member.session,
        member.merchant.id,
        color=brand_color if use_color else None,
        logo=data,
        remove_logo=bool(remove_logo),
    )
    await member.audit("account.branding", member.merchant.id)
    return redirect(f"{PREFIX}/settings?done=saved")
