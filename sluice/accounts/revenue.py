"""Platform fee revenue per network and asset, from the indexer's canonical events (as the merchant
reports read them): the fee paid to the platform is the share of a settling ledger entry (received, captured)
that went to the intent's `platform` split. Integers (NUMERIC sums) end to end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Numeric, and_, cast, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from sluice.models.chain import LedgerRow
from sluice.models.payment_intent import PaymentIntent

SETTLING = ("received", "captured")


@dataclass(frozen=True)
class Revenue:
    network: str
    token: str | None
    livemode: bool
    amount: int
    payments: int


async def platform_revenue(
    session: AsyncSession,
    *,
    merchant_id: str | None = None,
    created_gte: datetime | None = None,
    created_lte: datetime | None = None,
) -> list[Revenue]:
    """The platform's fee per (network, token, mode), over every merchant or one."""
    # fee_amounts[i] is paid to splits[i]; the platform fee, when charged, is the split of kind
    # "platform" (sluice.intents.service puts it first, but the kind is what is matched).
    splits = (
        func.jsonb_array_elements(PaymentIntent.splits)
        .table_valued("value", with_ordinality="i")
        .render_derived(name="split")
    )
    fees = (
        func.jsonb_array_elements(LedgerRow.fee_amounts)
        .table_valued("value", with_ordinality="j")
        .render_derived(name="fee")
    )
    amount = cast(fees.c.value.op("->>")("amount"), Numeric(78, 0))
    stmt = (
        select(
            LedgerRow.network,
            LedgerRow.asset,
            PaymentIntent.livemode,
            func.coalesce(func.sum(amount), 0),
            func.count(func.distinct(LedgerRow.id)),
        )
        .join(PaymentIntent, PaymentIntent.id == LedgerRow.payment_intent_id)
        .join(splits, literal_column("true"))
        .join(fees, and_(fees.c.j == splits.c.i))
        .where(
            LedgerRow.kind.in_(SETTLING),
            splits.c.value.op("->>")("kind") == "platform",
        )
        .group_by(LedgerRow.network, LedgerRow.asset, PaymentIntent.livemode)
        .order_by(LedgerRow.network, LedgerRow.asset, PaymentIntent.livemode)
    )
    if merchant_id is not None:
        stmt = stmt.where(LedgerRow.merchant_id == merchant_id)
    if created_gte is not None:
        stmt = stmt.where(LedgerRow.block_time >= created_gte)
    if created_lte is not None:
        stmt = stmt.where(LedgerRow.block_time <= created_lte)
    return [Revenue(r[0], r[1], bool(r[2]), int(r[3]), int(r[4])) for r in await session.execute(stmt)]
