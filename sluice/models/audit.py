"""Audit log: one row for every mutating API call or dashboard action."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sluice.db.base import Base, TimestampMixin
from sluice.ids import new_id


class AuditLog(TimestampMixin, Base):
    __tablename__ = "audit_logs"

    #: `al_…`, random: a counter would tell merchants how busy the platform is.
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("al"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    api_key_id: Mapped[str | None] = mapped_column(String(40))
    #: The dashboard user who acted (None for API-key calls).
    user_id: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(40))
    status_code: Mapped[int | None]
