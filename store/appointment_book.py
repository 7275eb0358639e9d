"""Booking and cancelling appointment slots: every rule enforced by the database in one statement.

``reserve`` is one transaction: the conditional ``UPDATE`` that takes a place (``booked < capacity``),
then the ``INSERT`` of the booking, whose unique index refuses a second active booking of the same
resident at the same time — its failure rolls the taken place back. No in-process lock is involved, so
any number of gateway processes may share the store. ``cancel`` gives a place back only when its own
``UPDATE`` moved the booking from BOOKED to CANCELLED: two cancellations racing free one place.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.appointments import BOOKED, CANCELLED, AppointmentRow, SlotRow
from store.db import rowcount


class BookingError(Exception):
    """A booking refused for a reason the client can act on; ``code`` becomes ``extensions.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = {"code": code}


@dataclass(frozen=True, slots=True)
class Slot:
    id: int
    station_id: str
    service_id: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int

    @property
    def available(self) -> int:
        return max(0, self.capacity - self.booked)


@dataclass(frozen=True, slots=True)
class Booking:
    """One appointment, without the resident: rows only ever carry the resident's digest."""

    id: str
    slot_id: int
    station_id: str
    service_id: str
    starts_at: datetime
    ends_at: datetime
    status: str
    created_at: datetime
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class SlotTime:
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Booker:
    """Who books: the resident (digest), and who pressed the button — the resident or staff."""

    resident_digest: str
    actor_digest: str
    session_id: str | None
    channel: str


def _slot(row: SlotRow) -> Slot:
    return Slot(row.id, row.station_id, row.service_id, row.starts_at, row.ends_at, row.capacity, row.booked)


def _booking(row: AppointmentRow) -> Booking:
    return Booking(
        row.id,
        row.slot_id,
        row.station_id,
        row.service_id,
        row.starts_at,
        row.ends_at,
        row.status,
        row.created_at,
        row.cancelled_at,
    )


class AppointmentBook:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    # -- slots -------------------------------------------------------------------------------------

    async def ensure_slots(
        self, station_id: str, service_id: str, times: Iterable[SlotTime], capacity: int
    ) -> None:
        """Create the slots not there yet; existing ones keep their capacity and bookings.

        Only missing times are written (looking is a read; most looks find every slot made), and with
        ``INSERT ... ON CONFLICT DO NOTHING``, so replicas making the same day at once agree.
        """
        wanted = list(times)
        if not wanted:
            return
        first, last = min(t.starts_at for t in wanted), max(t.starts_at for t in wanted)
        made = {
            s.starts_at for s in await self.slots(station_id, service_id, first, last + timedelta(seconds=1))
        }
        rows = [
            {
                "station_id": station_id,
                "service_id": service_id,
                "starts_at": t.starts_at,
                "ends_at": t.ends_at,
                "capacity": capacity,
                "booked": 0,
            }
            for t in wanted
            if t.starts_at not in made
        ]
        if not rows:
            return
        async with self.sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(SlotRow).on_conflict_do_nothing(
                index_elements=["station_id", "service_id", "starts_at"]
            )
            await session.execute(statement, rows)

    async def slots(self, station_id: str, service_id: str, start: datetime, end: datetime) -> list[Slot]:
        """The slots of a station and service starting in [start, end), in time order."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(SlotRow)
                .where(
                    SlotRow.station_id == station_id,
                    SlotRow.service_id == service_id,
                    SlotRow.starts_at >= start,
                    SlotRow.starts_at < end,
                )
                .order_by(SlotRow.starts_at)
            )
            return [_slot(r) for r in rows]

    async def slot(self, slot_id: int) -> Slot | None:
        async with self.sessions() as session:
            row = await session.get(SlotRow, slot_id)
            return None if row is None else _slot(row)

    async def set_capacity(self, slot_id: int, capacity: int) -> Slot:
        """New capacity for a slot, never below the places already booked."""
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(SlotRow)
                .where(SlotRow.id == slot_id, SlotRow.booked <= capacity)
                .values(capacity=capacity)
            )
            row = await session.get(SlotRow, slot_id, populate_existing=True)
            if row is None:
                raise BookingError("NOT_FOUND", "no such slot")
            if rowcount(result) == 0:
                raise BookingError(
                    "CAPACITY_BELOW_BOOKED", f"{row.booked} places are booked: capacity cannot go below that"
                )
            return _slot(row)

    # -- bookings ----------------------------------------------------------------------------------

    async def reserve(self, slot_id: int, booker: Booker, now: datetime) -> Booking:
        """Take one place of ``slot_id`` for the resident, or raise ``BookingError``.

        SLOT_FULL, ALREADY_BOOKED (the resident has an active booking at that time), NOT_FOUND,
        SLOT_PAST.
        """
        try:
            async with self.sessions.begin() as session:
                taken = await session.execute(
                    update(SlotRow)
                    .where(SlotRow.id == slot_id, SlotRow.booked < SlotRow.capacity, SlotRow.starts_at > now)
                    .values(booked=SlotRow.booked + 1)
                )
                slot = await session.get(SlotRow, slot_id, populate_existing=True)
                if rowcount(taken) == 0:
                    raise _not_taken(slot, now)
                assert slot is not None
                row = AppointmentRow(
                    id=secrets.token_hex(16),
                    slot_id=slot.id,
                    resident_digest=booker.resident_digest,
                    station_id=slot.station_id,
                    service_id=slot.service_id,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    status=BOOKED,
                    booked_by=booker.actor_digest,
                    session_id=booker.session_id,
                    channel=booker.channel,
                    created_at=now,
                    cancelled_at=None,
                )
                session.add(row)
                await session.flush()  # the unique index speaks here, inside the transaction
                return _booking(row)
        except IntegrityError as exc:  # the whole transaction, the taken place included, is rolled back
            raise BookingError(
                "ALREADY_BOOKED", "the resident already has an appointment at that time"
            ) from exc

    async def cancel(self, appointment_id: str, resident_digest: str, now: datetime) -> Booking:
        """Cancel the resident's booking and free its place, exactly once.

        NOT_FOUND also for somebody else's booking (whether it exists is none of the caller's
        business), ALREADY_CANCELLED, APPOINTMENT_STARTED.
        """
        mine = and_(AppointmentRow.id == appointment_id, AppointmentRow.resident_digest == resident_digest)
        async with self.sessions.begin() as session:
            found = (await session.scalars(select(AppointmentRow.slot_id).where(mine))).one_or_none()
            if found is None:
                raise BookingError("NOT_FOUND", "no such appointment of this resident")
            # the slot first, as reserve() takes it: two transactions never wait for each other in a ring
            await session.execute(select(SlotRow.id).where(SlotRow.id == found).with_for_update())
            moved = await session.execute(
                update(AppointmentRow)
                .where(mine, AppointmentRow.status == BOOKED, AppointmentRow.starts_at > now)
                .values(status=CANCELLED, cancelled_at=now)
            )
            row = (await session.scalars(select(AppointmentRow).where(mine))).one()
            if rowcount(moved) == 0:
                if row.status == CANCELLED:
                    raise BookingError("ALREADY_CANCELLED", "this appointment is already cancelled")
                raise BookingError(
                    "APPOINTMENT_STARTED", "an appointment that has started cannot be cancelled"
                )
            await session.execute(
                update(SlotRow)
                .where(SlotRow.id == row.slot_id, SlotRow.booked > 0)
                .values(booked=SlotRow.booked - 1)
            )
            await session.refresh(row)
            return _booking(row)

    async def bookings_of(
        self, resident_digest: str, since: datetime | None = None, include_cancelled: bool = False
    ) -> list[Booking]:
        """A resident's appointments in time order; ``since`` leaves out those that ended before."""
        query = select(AppointmentRow).where(AppointmentRow.resident_digest == resident_digest)
        if since is not None:
            query = query.where(AppointmentRow.ends_at > since)
        if not include_cancelled:
            query = query.where(AppointmentRow.status == BOOKED)
        async with self.sessions() as session:
            rows = await session.scalars(query.order_by(AppointmentRow.starts_at, AppointmentRow.id))
            return [_booking(r) for r in rows]

    async def bookings_of_slot(self, slot_ids: Sequence[int]) -> int:
        """Active bookings of these slots, counted from the bookings themselves (for consistency checks)."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AppointmentRow.id).where(
                    AppointmentRow.slot_id.in_(slot_ids), AppointmentRow.status == BOOKED
                )
            )
            return len(rows.all())


def _not_taken(slot: SlotRow | None, now: datetime) -> BookingError:
    if slot is None:
        return BookingError("NOT_FOUND", "no such slot")
    if slot.starts_at <= now:
        return BookingError("SLOT_PAST", "this slot has already started")
    return BookingError("SLOT_FULL", "every place of this slot is booked")
