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
    """One read of one kind of a resident's personal data, by whom, for what, through which channel.

    ``seq`` and ``mac`` chain the resident's rows (``access/chain.py``): ``seq`` counts them from 1, and
    ``mac`` is an HMAC over the row's content and the previous row's ``mac``. Both NULL only for rows
    written before the chain existed (migration 0006), until the resident's next row chains them.
    """

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_resident_at", "resident_digest", "at"),
        # one chain per resident: two writers can never both add row N
        Index("uq_access_log_resident_seq", "resident_digest", "seq", unique=True),
    )

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
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AccessChainHead(Base):
    """Where each resident's chain of access-log rows stands: its last row (``seq``, ``mac``), moved
    only by a conditional ``UPDATE ... WHERE seq = <what the writer read>`` so concurrent writers on
    any process never fork the chain; and its anchor: the last expired row (``anchor_seq``,
    ``anchor_mac``), sealed by ``anchor_tag`` (an HMAC) so the rows after it still verify."""

    __tablename__ = "access_log_heads"

    resident_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    mac: Mapped[str] = mapped_column(String(64), nullable=False)
    anchor_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    anchor_mac: Mapped[str] = mapped_column(String(64), nullable=False)
    anchor_tag: Mapped[str | None] = mapped_column(String(64), nullable=True)
