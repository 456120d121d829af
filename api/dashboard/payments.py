"""Overview, payments (list, search, detail with the timeline) and the capture / cancel / refund
buttons, which call the same services as /v1/payment_intents and /v1/refunds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response

from api.dashboard.web import PREFIX, DashboardRoute, Member, Viewer, allowed, redirect, render
from api.schemas import _base_units
from sluice.checkout.service import format_units
from sluice.dashboard import queries
from sluice.errors import InvalidRequestError
from sluice.intents.operations import ChainOperations
from sluice.intents.service import PaymentIntentService
from sluice.models.payment_intent import PaymentIntentStatus
from sluice.refunds.service import RefundService
from sluice.reports.filters import AssetBook, build_filters
from sluice.reports.queries import summary
from sluice.users.roles import Permission

router = APIRouter(prefix=PREFIX, route_class=DashboardRoute, include_in_schema=False)
Capturer = Annotated[Member, Depends(allowed(Permission.capture))]
Canceller = Annotated[Member, Depends(allowed(Permission.cancel))]
Refunder = Annotated[Member, Depends(allowed(Permission.refund))]


def _amount(value: str, param: str) -> int | None:
    """Base units from the form: empty means "all"; digits only (the page shows base units)."""
    value = value.strip()
    if not value:
        return None
    try:
        return _base_units(value)
    except ValueError as exc:
        raise InvalidRequestError(f"{param}: {exc}", param=param) from exc


@router.get("")
async def overview(request: Request, member: Viewer) -> Response:
    principal = member.principal
    figures = await queries.overview(member.session, principal, days=30)
    filters = build_filters(
        request.app.state.intents.registry,
        principal,
        network=None,
        asset=None,
        status=None,
        created_gte=None,
        created_lte=None,
    )
    totals = await summary(member.session, principal.merchant_id, filters, "month")
    by_asset: dict[tuple[str, str | None], list[int]] = {}
    for p in totals.periods:
        acc = by_asset.setdefault((p.network, p.token), [0, 0, 0, 0])
        acc[0] += p.gross
        acc[1] += p.fees
        acc[2] += p.net
        acc[3] += p.payments
    book = AssetBook(request.app.state.intents.registry)
    volume = []
    for (network, token), (gross, fees, net, count) in sorted(by_asset.items(), key=lambda kv: kv[0][0]):
        ref = book.ref(network, token)
        volume.append(
            {
                "network": network,
                "asset": ref.symbol,
                "gross": format_units(gross, ref.decimals),
                "fees": format_units(fees, ref.decimals),
                "net": format_units(net, ref.decimals),
                "payments": count,
            }
        )
    peak = max((n for _, n in figures.per_day), default=0) or 1
    return render(
        request,
        "overview.html",
        {
            "figures": figures,
            "volume": volume,
            "peak": peak,
            "avg_confirmation": totals.average_confirmation_seconds,
        },
    )


@router.get("/payments")
async def payments(
    request: Request,
    member: Viewer,
    status: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    starting_after: Annotated[str | None, Query(max_length=60)] = None,
) -> Response:
    service: PaymentIntentService = request.app.state.intents
    principal = member.principal
    parsed = None
    if status:
        try:
            parsed = PaymentIntentStatus(status)
        except ValueError:
            raise InvalidRequestError(f"unknown status {status!r}", param="status") from None
    if q:
        rows, has_more = await queries.search(member.session, principal, q), False
    else:
        rows, has_more = await service.list(
            member.session,
            principal,
            limit=25,
            starting_after=starting_after or None,
            ending_before=None,
            status=parsed,
            created_gte=None,
            created_lte=None,
        )
    return render(
        request,
        "payments.html",
        {
            "rows": rows,
            "has_more": has_more,
            "status": status or "",
            "q": q or "",
            "statuses": [s.value for s in PaymentIntentStatus],
            "fmt": format_units,
        },
    )


@router.get("/payments/{intent_id}")
async def payment(request: Request, member: Viewer, intent_id: str) -> Response:
    service: PaymentIntentService = request.app.state.intents
    intent = await service.get(member.session, member.principal, intent_id)
    history = await queries.timeline(member.session, member.principal, intent_id)
    return render(
        request,
        "payment.html",
        {
            "intent": intent,
            "history": history,
            "fmt": format_units,
            "explorer": queries.explorer_tx,
            "notice": request.query_params.get("done"),
        },
    )


@router.post("/payments/{intent_id}/capture")
async def capture(
    request: Request, member: Capturer, intent_id: str, amount: Annotated[str, Form(max_length=80)] = ""
) -> Response:
    ops: ChainOperations = request.app.state.operations
    intent = await ops.capture(member.session, member.principal, intent_id, _amount(amount, "amount"))
    await member.audit("payment_intent.capture", intent.id)
    return redirect(f"{PREFIX}/payments/{intent.id}?done=captured")


@router.post("/payments/{intent_id}/cancel")
async def cancel(request: Request, member: Canceller, intent_id: str) -> Response:
    ops: ChainOperations = request.app.state.operations
    intent = await ops.cancel(member.session, member.principal, intent_id, "requested_by_customer")
    await member.audit("payment_intent.cancel", intent.id)
    return redirect(f"{PREFIX}/payments/{intent.id}?done=canceled")


@router.post("/payments/{intent_id}/refund")
async def refund(
    request: Request, member: Refunder, intent_id: str, amount: Annotated[str, Form(max_length=80)] = ""
) -> Response:
    service: RefundService = request.app.state.refunds
    created = await service.create(
        member.session, member.principal, intent_id, _amount(amount, "amount"), "requested_by_customer"
    )
    await member.audit("refund.create", created.id)
    return redirect(f"{PREFIX}/payments/{intent_id}?done=refunded")
