"""Report rows as JSON objects and as CSV: stable column names, amounts as base-unit strings plus a
display value in whole units, ISO-8601 UTC times — ready for spreadsheet or ERP import."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sluice.models.reports import ReconciliationRun
from sluice.reports.filters import AssetBook
from sluice.reports.queries import SETTLED_KINDS, Balance, EventRow, Summary, report_type, row_id


def display(amount: int, decimals: int) -> str:
    """Base units as a whole-unit decimal string with all the asset's decimals ("25.000000")."""
    return (
        str((Decimal(amount).scaleb(-decimals)).quantize(Decimal(1).scaleb(-decimals)))
        if decimals
        else str(amount)
    )


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _fees(row: EventRow) -> list[dict[str, str]]:
    kinds = {(s.get("recipient") or "").lower(): s.get("kind", "split") for s in row.splits or []}
    return [
        {
            "recipient": f["recipient"],
            "kind": kinds.get(f["recipient"].lower(), "split"),
            "amount": str(int(f["amount"])),
        }
        for f in row.event.fee_amounts or []
    ]


def payment_object(row: EventRow, assets: AssetBook) -> dict[str, Any]:
    e = row.event
    ref = assets.ref(e.network, e.asset)
    fees = _fees(row)
    settled = e.kind in SETTLED_KINDS
    fee_total = sum(int(f["amount"]) for f in fees)
    net = e.merchant_amount if settled and e.merchant_amount is not None else 0
    return {
        "id": row_id(e.id),
        "object": "report.payment",
        "type": report_type(e),
        "payment_intent": e.payment_intent_id,
        "intent_status": row.intent_status,
        "network": e.network,
        "asset": ref.symbol,
        "token": e.asset,
        "decimals": ref.decimals,
        "gross": str(e.amount),
        "gross_display": display(e.amount, ref.decimals),
        "fees": fees,
        "fee_total": str(fee_total),
        "fee_total_display": display(fee_total, ref.decimals),
        "net": str(net),
        "net_display": display(net, ref.decimals),
        "payer": e.payer,
        "merchant_address": e.merchant,
        "tx_hash": e.tx_id,
        "log_index": e.block_index,
        "block_number": e.height,
        "block_time": iso(e.block_time),
        "confirmations": row.confirmations,
        "relayer_fee": None if row.relayer_fee is None else str(row.relayer_fee),
    }


def refund_object(row: EventRow, assets: AssetBook) -> dict[str, Any]:
    e = row.event
    ref = assets.ref(e.network, e.asset)
    return {
        "id": row_id(e.id),
        "object": "report.refund",
        "type": report_type(e),
        "refund": row.refund_id,
        "payment_intent": e.payment_intent_id,
        "network": e.network,
        "asset": ref.symbol,
        "token": e.asset,
        "decimals": ref.decimals,
        "amount": str(e.amount),
        "amount_display": display(e.amount, ref.decimals),
        "payer": e.payer,
        "tx_hash": e.tx_id,
        "log_index": e.block_index,
        "block_number": e.height,
        "block_time": iso(e.block_time),
        "confirmations": row.confirmations,
    }


BALANCE_AMOUNTS = ("received", "captured", "in_escrow", "refunded", "fees", "net")


def _amounts(
    obj: Any, network: str, token: str | None, names: tuple[str, ...], assets: AssetBook
) -> dict[str, Any]:
    """Network, asset and each amount of `obj` in base units and for display."""
    ref = assets.ref(network, token)
    out: dict[str, Any] = {"network": network, "asset": ref.symbol, "token": token, "decimals": ref.decimals}
    for name in names:
        value = getattr(obj, name)
        out[name] = str(value)
        out[f"{name}_display"] = display(value, ref.decimals)
    return out


def balance_object(balance: Balance, assets: AssetBook) -> dict[str, Any]:
    amounts = _amounts(balance, balance.network, balance.token, BALANCE_AMOUNTS, assets)
    return {"object": "report.balance", "payments": balance.payments, **amounts}


PERIOD_AMOUNTS = ("gross", "fees", "net", "refunded")


def summary_object(summary: Summary, interval: str, assets: AssetBook) -> dict[str, Any]:
    periods = []
    for p in summary.periods:
        start = iso(p.start.replace(tzinfo=UTC) if p.start.tzinfo is None else p.start)
        amounts = _amounts(p, p.network, p.token, PERIOD_AMOUNTS, assets)
        periods.append({"period_start": start, "payments": p.payments, **amounts})
    fiat = [
        {
            "period_start": iso(f.start.replace(tzinfo=UTC) if f.start.tzinfo is None else f.start),
            "currency": f.currency,
            "amount": str(Decimal(f.amount).quantize(Decimal("0.01"))),
        }
        for f in summary.fiat
    ]
    return {
        "object": "report.summary",
        "interval": interval,
        "periods": periods,
        "fiat": fiat,
        "status_counts": summary.status_counts,
        "average_confirmation_seconds": summary.average_confirmation_seconds,
        "confirmed_payments": summary.confirmed_payments,
    }


def _flat(obj: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(
            value, list
        ):  # fees: one cell: recipient:kind:amount;… keeps every fee in a single column
            out[key] = ";".join(f"{f['recipient']}:{f['kind']}:{f['amount']}" for f in value)
        elif value is None:
            out[key] = ""
        else:
            out[key] = value
    return out


def to_csv(columns: Sequence[str], objects: Iterable[Mapping[str, Any]]) -> str:
    """CSV with a header row of `columns` (every row has all of them, in that order)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for obj in objects:
        writer.writerow(_flat(obj))
    return buffer.getvalue()


PAYMENT_COLUMNS = (
    "id", "type", "payment_intent", "intent_status", "network", "asset", "token", "decimals",
    "gross", "gross_display", "fee_total", "fee_total_display", "fees", "net", "net_display",
    "payer", "merchant_address", "tx_hash", "log_index", "block_number", "block_time", "confirmations",
    "relayer_fee",
)  # fmt: skip
REFUND_COLUMNS = (
    "id", "type", "refund", "payment_intent", "network", "asset", "token", "decimals", "amount",
    "amount_display", "payer", "tx_hash", "log_index", "block_number", "block_time", "confirmations",
)  # fmt: skip
BALANCE_COLUMNS = (
    "network", "asset", "token", "decimals", "payments",
    *(c for name in BALANCE_AMOUNTS for c in (name, f"{name}_display")),
)  # fmt: skip
SUMMARY_COLUMNS = (
    "period_start", "network", "asset", "token", "decimals", "payments",
    *(c for name in PERIOD_AMOUNTS for c in (name, f"{name}_display")),
)  # fmt: skip


def reconciliation_object(run: ReconciliationRun, merchant_id: str, assets: AssetBook) -> dict[str, Any]:
    """One run as a merchant sees it: only its own totals and mismatches (the run's status is the
    merchant's: clean when nothing of theirs differs)."""
    totals = []
    for t in run.totals:
        if t["merchant_id"] != merchant_id:
            continue
        ref = assets.ref(run.network, t["token"])
        totals.append(
            {
                "asset": ref.symbol,
                "token": t["token"],
                "event": t["event"],
                "chain": t["chain"],
                "database": t["database"],
                "chain_display": display(int(t["chain"]), ref.decimals),
                "database_display": display(int(t["database"]), ref.decimals),
            }
        )
    mine = [
        {k: v for k, v in m.items() if k != "merchant_id"}
        for m in run.mismatches
        if m.get("merchant_id") == merchant_id
    ]
    return {
        "id": run.id,
        "object": "reconciliation_run",
        "network": run.network,
        "from_block": run.from_block,
        "to_block": run.to_block,
        "status": "mismatch" if mine else "clean",
        "created": iso(run.created_at),
        "finished": iso(run.finished_at),
        "totals": totals,
        "mismatches": mine,
    }
