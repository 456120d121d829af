"""Dashboard reads: payment search, an intent's timeline, the overview's figures. Every query is
scoped to the caller's merchant and mode."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.audit.queries import list_audit_logs
from sluice.clock import utcnow
from sluice.intents.record import IntentRecord
from sluice.intents.repository.queries import records, select_records
from sluice.merchants.service import Principal
from sluice.models.audit import AuditLog
from sluice.models.chain import LedgerRow
from sluice.models.event import Event
from sluice.models.payment_intent import PaymentIntent, PaymentIntentStatus
from sluice.models.refund import Refund
from sluice.models.users import User

TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
#: Block explorers by chain id (a link per transaction; none for local chains).
EXPLORERS: dict[int, str] = {
    1: "https://etherscan.io",
    11155111: "https://sepolia.etherscan.io",
    56: "https://bscscan.com",
    97: "https://testnet.bscscan.com",
    8453: "https://basescan.org",
    84532: "https://sepolia.basescan.org",
    137: "https://polygonscan.com",
    42161: "https://arbiscan.io",
}


def explorer_tx(chain_id: int, tx_hash: str) -> str | None:
    base = EXPLORERS.get(chain_id)
    return f"{base}/tx/{tx_hash}" if base else None


async def search(
    session: AsyncSession, principal: Principal, q: str, *, limit: int = 50
) -> list[IntentRecord]:
    """Intents matching an id (`pi_…`), a transaction hash (their on-chain events), or an address
    (payer or payout), newest first."""
    q = q.strip()
    scope = (PaymentIntent.merchant_id == principal.merchant_id, PaymentIntent.livemode == principal.livemode)
    stmt = select_records().where(*scope)
    if TX_HASH.match(q):
        ids = select(LedgerRow.payment_intent_id).where(
            LedgerRow.merchant_id == principal.merchant_id, func.lower(LedgerRow.tx_id) == q.lower()
        )
        refund_ids = select(Refund.payment_intent_id).where(
            Refund.merchant_id == principal.merchant_id, func.lower(Refund.tx_hash) == q.lower()
        )
        stmt = stmt.where(or_(PaymentIntent.id.in_(ids), PaymentIntent.id.in_(refund_ids)))
    elif ADDRESS.match(q):
        stmt = stmt.where(
            or_(
                func.lower(PaymentIntent.payer) == q.lower(),
                func.lower(PaymentIntent.payout_address) == q.lower(),
            )
        )
    else:
        stmt = stmt.where(PaymentIntent.id == q)
    rows = await session.execute(stmt.order_by(PaymentIntent.created_at.desc()).limit(limit))
    return records(rows.all())


@dataclass
class Timeline:
    events: list[Event]
    onchain: list[LedgerRow]
    refunds: list[Refund]


async def timeline(session: AsyncSession, principal: Principal, intent_id: str) -> Timeline:
    """The intent's API events (oldest first), its on-chain events and its refunds."""
    events = await session.execute(
        select(Event)
        .where(
            Event.merchant_id == principal.merchant_id,
            Event.livemode == principal.livemode,
            Event.object_id == intent_id,
        )
        .order_by(Event.created_at, Event.seq)
    )
    onchain = await session.execute(
        select(LedgerRow)
        .where(LedgerRow.merchant_id == principal.merchant_id, LedgerRow.payment_intent_id == intent_id)
        .order_by(LedgerRow.height, LedgerRow.block_index)
    )
    refunds = await session.execute(
        select(Refund)
        .where(Refund.merchant_id == principal.merchant_id, Refund.payment_intent_id == intent_id)
        .order_by(Refund.created_at)
    )
    return Timeline(list(events.scalars()), list(onchain.scalars()), list(refunds.scalars()))


@dataclass
class Overview:
    days: int
    #: (day ISO date, payments that day) for the chart, oldest first, every day present.
    per_day: list[tuple[str, int]] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        """Succeeded among the intents that reached an outcome (succeeded, canceled, expired)."""
        done = sum(self.status_counts.get(s, 0) for s in ("succeeded", "canceled", "expired"))
        return None if done == 0 else self.status_counts.get("succeeded", 0) / done


async def overview(session: AsyncSession, principal: Principal, *, days: int = 30) -> Overview:
    """Intents created per day and by status over the last `days` days (this mode)."""
    since = (utcnow() - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    scope = (
        PaymentIntent.merchant_id == principal.merchant_id,
        PaymentIntent.livemode == principal.livemode,
        PaymentIntent.created_at >= since,
    )
    day = func.date_trunc("day", func.timezone("UTC", PaymentIntent.created_at))
    counted = dict(
        (r[0].date().isoformat(), int(r[1]))
        for r in await session.execute(select(day, func.count()).where(*scope).group_by(day))
    )
    result = Overview(days)
    for i in range(days):
        d = (since + timedelta(days=i)).date().isoformat()
        result.per_day.append((d, counted.get(d, 0)))
    statuses = await session.execute(
        select(PaymentIntent.status, func.count()).where(*scope).group_by(PaymentIntent.status)
    )
    result.status_counts = {str(s): int(n) for s, n in statuses}
    for s in PaymentIntentStatus:
        result.status_counts.setdefault(s.value, 0)
    return result


async def audit_page(
    session: AsyncSession, merchant_id: str, *, limit: int, starting_after: str | None
) -> tuple[list[tuple[AuditLog, str | None, str | None]], bool]:
    """The audit log with, per row, the acting key's prefix or the acting user's email."""
    rows, has_more = await list_audit_logs(session, merchant_id, limit=limit, starting_after=starting_after)
    user_ids = {r.user_id for r, _ in rows if r.user_id}
    emails: dict[str, str] = {}
    if user_ids:
        found = await session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
        emails = {uid: email for uid, email in found.all()}
    return [(r, prefix, emails.get(r.user_id or "")) for r, prefix in rows], has_more


async def event_bodies(session: AsyncSession, principal: Principal, event_ids: list[str]) -> dict[str, str]:
    """The JSON each event's deliveries POST (what the receiver got), by event id, this merchant's only."""
    if not event_ids:
        return {}
    rows = await session.execute(
        select(Event.id, Event.type, Event.data, Event.created_at).where(
            Event.merchant_id == principal.merchant_id, Event.id.in_(event_ids)
        )
    )
    return {
        event_id: json.dumps(
            {"id": event_id, "type": type_, "created": int(created.timestamp()), "data": data}, indent=2
        )[:4000]
        for event_id, type_, data, created in rows.all()
    }
