"""Locked fiat price quotes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, Money, TimestampMixin
from sluice.ids import new_id


class Quote(TimestampMixin, Base):
    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("qt"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    fiat_amount: Mapped[Decimal] = mapped_column(Numeric(38, 8))
    currency: Mapped[str] = mapped_column(String(3))
    network: Mapped[str] = mapped_column(String(40))
    asset: Mapped[str] = mapped_column(String(20))
    decimals: Mapped[int]
    #: Fiat units per one whole asset unit.
    rate: Mapped[Decimal] = mapped_column(Numeric(38, 18))
    source: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Money)
    locked_until: Mapped[datetime]
