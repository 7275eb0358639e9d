"""Appointment slots at stations and residents' bookings of them.

The guarantees live in the database, not in the process, so they hold across gateway replicas that
share one store:

* a slot is never over-booked: a booking is one conditional ``UPDATE ... SET booked = booked + 1
  WHERE booked < capacity`` (the row lock makes it atomic on PostgreSQL, SQLite's single writer does on
  SQLite) and a ``CHECK (booked <= capacity)`` backs it up;
* a resident is never booked twice at the same time: a partial unique index on (resident, start) over
  active bookings — which also rules out two bookings of one slot;
* a cancellation frees its place exactly once: only the ``UPDATE`` that moves a booking from BOOKED to
  CANCELLED gives the place back, in the same transaction.

No ID number is stored: residents are known by ``Acting.resident_digest``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from store.models import Base

BOOKED = "BOOKED"
CANCELLED = "CANCELLED"


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on SQLite (which keeps no offset and hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: times are stored in UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SlotRow(Base):
    """A time at a station when ``capacity`` residents can be served for one service."""

    __tablename__ = "appointment_slots"
    __table_args__ = (
        UniqueConstraint("station_id", "service_id", "starts_at", name="uq_slot_station_service_start"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="ck_slot_booked_within_capacity"),
    )  # the unique constraint's index also serves the look-ups by station, service and time

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(80), nullable=False)
    service_id: Mapped[str] = mapped_column(String(40), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    booked: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AppointmentRow(Base):
    """One resident's booking of one slot. Station, service and start are copied from the slot so the
    database itself can refuse a second active booking at the same time."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index(
            "uq_appointment_resident_start_active",
            "resident_digest",
            "starts_at",
            unique=True,
            sqlite_where=text("status = 'BOOKED'"),
            postgresql_where=text("status = 'BOOKED'"),
        ),
        Index("ix_appointment_resident", "resident_digest", "starts_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("appointment_slots.id"), nullable=False, index=True)
    resident_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    station_id: Mapped[str] = mapped_column(String(80), nullable=False)
    service_id: Mapped[str] = mapped_column(String(40), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    booked_by: Mapped[str] = mapped_column(String(64), nullable=False)  # principal digest: resident or staff
    session_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the assisted session, if any
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
