"""Tables of who may see whom: assisted sessions (staff acting for a consenting resident) and the
access log (every read of personal data).

Neither table holds an ID number: residents and staff are named by digests, and the resident of an
assisted session additionally by the sealed, opaque ``Resident.id`` the staff member was given.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class AssistedSessionRow(Base):
    """Staff at a station acting for one resident, within a purpose scope, until ``expires_at``.

    ``status``: PENDING (waiting for the resident's consent), ACTIVE, REVOKED (by the resident),
    ENDED (by the staff member). Expiry is a time, not a status: nothing has to run to expire it.
    """

    __tablename__ = "assisted_sessions"
    __table_args__ = (Index("ix_assisted_sessions_lookup", "staff_digest", "resident_digest"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    staff_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    station: Mapped[str] = mapped_column(String(80), nullable=False)
    resident_digest: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    resident_ref: Mapped[str] = mapped_column(String(200), nullable=False)  # sealed, never the number
    purposes: Mapped[str] = mapped_column(String(400), nullable=False)  # comma-separated Purpose values
    duration_s: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    consented_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AccessLogRow(Base):
    """One read of one kind of a resident's personal data, by whom, for what, through which channel."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_resident_at", "resident_digest", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(16), nullable=False)
    station: Mapped[str | None] = mapped_column(String(80), nullable=True)
    resident_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[str] = mapped_column(String(80), nullable=False)
    department: Mapped[str | None] = mapped_column(String(40), nullable=True)
    purpose: Mapped[str] = mapped_column(String(24), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
