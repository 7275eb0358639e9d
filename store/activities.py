"""Station activities (training, cultural, volunteer service sessions) and residents' sign-ups.

The guarantees live in the database, as the appointment book's do, so they hold across gateway
processes sharing one store:

* never over capacity: a place is taken by one conditional ``UPDATE ... SET taken = taken + 1 WHERE
  taken < capacity`` and a ``CHECK (taken <= capacity)`` backs it up;
* one active sign-up per resident per activity: a partial unique index on (activity, resident digest)
  over sign-ups that are SIGNED_UP or WAITING;
* a waiting list in order: every sign-up, cancel and promotion of an activity first takes that
  activity's row (an ``UPDATE`` of it: a row lock on PostgreSQL, the write lock on SQLite), so they
  happen one at a time, and a waiting sign-up's ``position`` is the activity's ``queued`` counter;
* volunteer hours reported once: ``hours_state`` moves NONE -> PENDING (with the report key the
  volunteer department files once, and who confirmed) -> REPORTED (or UNREPORTABLE when the volunteer
  can no longer be identified), each step a conditional ``UPDATE``; a retry of a PENDING report is
  claimed by one process with ``UPDATE ... WHERE hours_retry_at <= now``.

No ID number is stored: residents are their keyed digest; a volunteer host also has a sealed handle
(``Resident.id``, AES-GCM under the gateway's resident key), which only the gateway can open, because
the hours must be reported to the volunteer department under the volunteer's ID number.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from store.appointments import UtcDateTime
from store.models import Base

SCHEDULED = "SCHEDULED"
HELD = "HELD"
SIGNED_UP = "SIGNED_UP"
WAITING = "WAITING"
CANCELLED = "CANCELLED"
HOST_STATION = "STATION"
HOST_VOLUNTEER = "VOLUNTEER"
HOURS_NONE = "NONE"
HOURS_PENDING = "PENDING"
HOURS_REPORTED = "REPORTED"
HOURS_UNREPORTABLE = "UNREPORTABLE"  # the volunteer can no longer be identified: never retried
ACTIVE = "status IN ('SIGNED_UP', 'WAITING')"


class ActivityRow(Base):
    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("taken >= 0 AND taken <= capacity", name="ck_activity_taken_within_capacity"),
        Index("ix_activity_station_start", "station_id", "starts_at"),
        Index("ix_activity_hours_due", "hours_state", "hours_retry_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(80), nullable=False)
    title_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    title_en: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    host_kind: Mapped[str] = mapped_column(String(12), nullable=False)
    host_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    host_seal: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the volunteer's Resident.id
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    taken: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    queued: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # sign-ups ever numbered
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)  # principal digest
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    hours_state: Mapped[str] = mapped_column(String(12), nullable=False, default=HOURS_NONE)
    hours_report_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hours_tenths: Mapped[int | None] = mapped_column(Integer, nullable=True)  # hours reported, x10
    hours_reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # who confirmed the session was held: a retried send's access-log row names them
    hours_confirmed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # staff digest
    hours_confirmed_station: Mapped[str | None] = mapped_column(String(80), nullable=True)
    hours_confirmed_channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    hours_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    hours_retry_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    hours_last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class SignUpRow(Base):
    __tablename__ = "activity_signups"
    __table_args__ = (
        Index(
            "uq_signup_activity_resident_active",
            "activity_id",
            "resident_digest",
            unique=True,
            sqlite_where=text(ACTIVE),
            postgresql_where=text(ACTIVE),
        ),
        Index("ix_signup_activity_status_position", "activity_id", "status", "position"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"), nullable=False)
    resident_digest: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)  # order of arrival in the activity
    signed_by: Mapped[str] = mapped_column(String(64), nullable=False)  # principal digest
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    promoted_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
