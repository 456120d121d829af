"""Events (`evt_…`): what happened to a merchant's objects, recorded in the same transaction as the
change. The table is also the webhook outbox: rows with `dispatched_at` unset are waiting to be fanned
out to the merchant's endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Mapped, mapped_column

from sluice.clock import utcnow
from sluice.db.base import Base
from sluice.ids import new_id


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_merchant_created", "merchant_id", "created_at", "id"),
        Index("ix_events_merchant_type_created", "merchant_id", "type", "created_at"),
        Index("ix_events_undispatched", "seq", postgresql_where=text("dispatched_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("evt"))
    #: Insertion order, for the outbox scan (an identity: unique without an index of its own; the
    #: partial index below serves the scan).
    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    livemode: Mapped[bool]
    type: Mapped[str] = mapped_column(String(60))
    #: The API id of the object the event is about (pi_…, re_…, we_…). No index: nothing looks events
    #: up by object alone (the reports group a merchant's events of a type by it).
    object_id: Mapped[str | None] = mapped_column(String(40))
    #: {"object": <the object as the API returns it>, "previous_attributes": {...}?}; json, not jsonb:
    #: written once, read whole, never queried inside (jsonb's parse cost half of each outbox insert).
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(40))
    dispatched_at: Mapped[datetime | None]
    #: No index of its own: every listing filters by merchant first (ix_events_merchant_created).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
