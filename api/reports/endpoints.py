"""/v1/reports/*: indexer-backed reports, as JSON or CSV (`format=csv` or `Accept: text/csv`).

Thin: parse and check the filters, run sluice.reports queries on the report database (the read
replica when configured), format. Every report is scoped to the caller's merchant and mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import ReadKey
from api.schemas import from_unix
from sluice.chain.registry import Registry
from sluice.merchants.service import Principal
from sluice.reports import format as fmt
from sluice.reports.filters import AssetBook, ReportFilters, build_filters
from sluice.reports.queries import (
    PAYMENT_TYPES,
    REFUND_TYPES,
    Interval,
    balances,
    event_page,
    summary,
)
from sluice.reports.reconcile import latest_runs

router = APIRouter(prefix="/reports", tags=["reports"])


async def report_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A read-only session on the report database (read replica when configured)."""
    async with request.app.state.report_sessions() as session:
        yield session


ReportSession = Annotated[AsyncSession, Depends(report_session)]


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.intents.registry
    return registry


def filters_dep(
    request: Request,
    principal: ReadKey,
    network: Annotated[str | None, Query(max_length=40)] = None,
    asset: Annotated[str | None, Query(max_length=20, description="Asset symbol; needs `network`.")] = None,
    status: Annotated[str | None, Query(description="Payment intent status.")] = None,
    created_gte: Annotated[
        int | None, Query(alias="created[gte]", ge=0, description="Unix time, block time")
    ] = None,
    created_lte: Annotated[int | None, Query(alias="created[lte]", ge=0)] = None,
) -> ReportFilters:
    return build_filters(
        _registry(request),
        principal,
        network=network,
        asset=asset,
        status=status,
        created_gte=from_unix(created_gte),
        created_lte=from_unix(created_lte),
    )


Filters = Annotated[ReportFilters, Depends(filters_dep)]
Format = Annotated[
    Literal["json", "csv"] | None, Query(description="json (default) or csv; or Accept: text/csv")
]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


def _csv(body: str, name: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"', **(headers or {})},
    )


def _page_headers(request: Request, data: list[dict[str, Any]], has_more: bool) -> dict[str, str]:
    """CSV pages carry the cursor in headers: `Sluice-Has-More` and a `Link: …; rel="next"`."""
    headers = {"Sluice-Has-More": "true" if has_more else "false"}
    if has_more and data:
        params = {
            k: v for k, v in request.query_params.items() if k not in ("starting_after", "ending_before")
        }
        params["starting_after"] = data[-1]["id"]
        headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
    return headers


async def _event_report(
    request: Request,
    principal: Principal,
    session: AsyncSession,
    filters: ReportFilters,
    *,
    types: tuple[str, ...],
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    format: str | None,
    kind: Literal["payments", "refunds"],
) -> Response:
    rows, has_more = await event_page(
        session,
        principal.merchant_id,
        filters,
        types,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    assets = AssetBook(_registry(request))
    present = fmt.payment_object if kind == "payments" else fmt.refund_object
    data = [present(row, assets) for row in rows]
    if _wants_csv(request, format):
        columns = fmt.PAYMENT_COLUMNS if kind == "payments" else fmt.REFUND_COLUMNS
        return _csv(fmt.to_csv(columns, data), kind, _page_headers(request, data, has_more))
    return JSONResponse({"object": "list", "data": data, "has_more": has_more, "url": f"/v1/reports/{kind}"})


@router.get("/payments")
async def payments_report(
    request: Request,
    principal: ReadKey,
    session: ReportSession,
    filters: Filters,
    format: Format = None,
    type: Annotated[
        Literal["payment", "escrow_deposit", "capture"] | None,
        Query(description="payment (fee-splitting contract), escrow_deposit or capture; default all"),
    ] = None,
    limit: Limit = 100,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Response:
    """Every on-chain payment to this merchant, newest first: intent, asset, gross, fees by recipient,
    net, transaction, block, confirmations and payer."""
    types = PAYMENT_TYPES if type is None else (type,)
    return await _event_report(
        request, principal, session, filters, types=types, limit=limit,
        starting_after=starting_after, ending_before=ending_before, format=format, kind="payments",
    )  # fmt: skip


@router.get("/refunds")
async def refunds_report(
    request: Request,
    principal: ReadKey,
    session: ReportSession,
    filters: Filters,
    format: Format = None,
    limit: Limit = 100,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Response:
    """Every on-chain return of funds to a payer: escrow refunds (with the `re_…` id when made through
    the API), voids and payer reclaims."""
    return await _event_report(
        request, principal, session, filters, types=REFUND_TYPES, limit=limit,
        starting_after=starting_after, ending_before=ending_before, format=format, kind="refunds",
    )  # fmt: skip


@router.get("/balances")
async def balances_report(
    request: Request, principal: ReadKey, session: ReportSession, filters: Filters, format: Format = None
) -> Response:
    """Per network and asset: received, captured, in escrow, refunded, fees paid and net."""
    assets = AssetBook(_registry(request))
    data = [fmt.balance_object(b, assets) for b in await balances(session, principal.merchant_id, filters)]
    if _wants_csv(request, format):
        return _csv(fmt.to_csv(fmt.BALANCE_COLUMNS, data), "balances")
    return JSONResponse({"object": "list", "data": data, "has_more": False, "url": "/v1/reports/balances"})


@router.get("/summary")
async def summary_report(
    request: Request,
    principal: ReadKey,
    session: ReportSession,
    filters: Filters,
    format: Format = None,
    interval: Annotated[Interval, Query(description="day, week (ISO, Monday) or month, UTC")] = "day",
) -> Response:
    """Totals per period and asset (gross, fees, net, refunded, count), their value in the quotes'
    fiat, intent counts by status and the average confirmation time."""
    result = await summary(session, principal.merchant_id, filters, interval)
    obj = fmt.summary_object(result, interval, AssetBook(_registry(request)))
    if _wants_csv(request, format):
        return _csv(fmt.to_csv(fmt.SUMMARY_COLUMNS, obj["periods"]), "summary")
    return JSONResponse(obj)


@router.get("/reconciliation")
async def reconciliation_report(
    request: Request, principal: ReadKey, session: ReportSession, filters: Filters
) -> JSONResponse:
    """The latest reconciliation run of each network (`sluice reconcile` or the scheduled job): this
    merchant's totals on chain and in the books, and every mismatch that concerns this merchant."""
    runs = await latest_runs(session, filters.networks)
    assets = AssetBook(_registry(request))
    data = [fmt.reconciliation_object(run, principal.merchant_id, assets) for run in runs]
    return JSONResponse(
        {"object": "list", "data": data, "has_more": False, "url": "/v1/reports/reconciliation"}
    )
