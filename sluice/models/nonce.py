"""Replay nonces, allocated densely per network and contract so intents share bitmap words."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, Money


class NonceCounter(Base):
    __tablename__ = "nonce_counters"

    network: Mapped[str] = mapped_column(String(40), primary_key=True)
    contract_address: Mapped[str] = mapped_column(String(42), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(Money, default=0)
