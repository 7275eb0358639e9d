"""Appointments at stations: free slots, and a resident's bookings (reserve, cancel, list).

Thin: every rule is in ``resolvers.appointments`` and ``store.appointment_book``. Booking for somebody
else goes through the access policy like any personal data (staff: an assisted session with the
resident's consent covering APPOINTMENTS), and every answer about a resident's appointments is written
to their access log.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated

import strawberry

from access.policy import Acting, Purpose
from resolvers import appointments as logic
from schema.context import Info, path_of
from schema.services import Service
from schema.stations import Station
from store.appointment_book import AppointmentBook, Booking, BookingError, Slot

ACCESS_DATA = "appointments"


@strawberry.enum(description="Whether an appointment still holds its place.")
class AppointmentStatus(Enum):
    BOOKED = strawberry.enum_value("BOOKED", description="已预约 / Booked: the place is held")
    CANCELLED = strawberry.enum_value("CANCELLED", description="已取消 / Cancelled: the place was freed")


async def _station(info: Info, station_id: str) -> Station | None:
    stations = await info.context.loaders.all_stations(path_of(info))
    record = logic.station_by_id(stations, station_id)
    return None if record is None else Station.from_record(record)


async def _service(info: Info, service_id: str) -> Service | None:
    record = (await info.context.loaders.service_index(path_of(info))).get(service_id)
    return None if record is None else Service.from_record(record)


@strawberry.type(description="A time at a station when some residents can be served for one service.")
class AppointmentSlot:
    id: strawberry.ID = strawberry.field(description="Slot id, for `reserveAppointment`")
    station_id: strawberry.ID = strawberry.field(description="The station's id")
    service_id: strawberry.ID = strawberry.field(description="The service's catalogue code")
    starts_at: datetime = strawberry.field(description="开始 / Starts")
    ends_at: datetime = strawberry.field(description="结束 / Ends")
    capacity: int = strawberry.field(description="places in this slot")
    booked: int = strawberry.field(description="places taken")
    available: int = strawberry.field(description="places still free")

    @strawberry.field(description="The station; null when its department cannot be reached")
    async def station(self, info: Info) -> Station | None:
        return await _station(info, str(self.station_id))

    @strawberry.field(description="The service; null when no catalogue lists it")
    async def service(self, info: Info) -> Service | None:
        return await _service(info, str(self.service_id))

    @classmethod
    def from_slot(cls, slot: Slot) -> AppointmentSlot:
        return cls(
            id=strawberry.ID(str(slot.id)),
            station_id=strawberry.ID(slot.station_id),
            service_id=strawberry.ID(slot.service_id),
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            capacity=slot.capacity,
            booked=slot.booked,
            available=slot.available,
        )


@strawberry.type(description="A resident's booking of a slot.")
class Appointment:
    id: strawberry.ID = strawberry.field(description="Appointment id, for `cancelAppointment`")
    slot_id: strawberry.ID = strawberry.field(description="The slot it holds a place in")
    station_id: strawberry.ID = strawberry.field(description="The station's id")
    service_id: strawberry.ID = strawberry.field(description="The service's catalogue code")
    starts_at: datetime = strawberry.field(description="开始 / Starts")
    ends_at: datetime = strawberry.field(description="结束 / Ends")
    status: AppointmentStatus = strawberry.field(description="预约状态 / Booked or cancelled")
    booked_at: datetime = strawberry.field(description="When it was booked")
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled; null while booked")

    @strawberry.field(description="The station; null when its department cannot be reached")
    async def station(self, info: Info) -> Station | None:
        return await _station(info, str(self.station_id))

    @strawberry.field(description="The service; null when no catalogue lists it")
    async def service(self, info: Info) -> Service | None:
        return await _service(info, str(self.service_id))

    @classmethod
    def from_booking(cls, booking: Booking) -> Appointment:
        return cls(
            id=strawberry.ID(booking.id),
            slot_id=strawberry.ID(str(booking.slot_id)),
            station_id=strawberry.ID(booking.station_id),
            service_id=strawberry.ID(booking.service_id),
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            status=AppointmentStatus(booking.status),
            booked_at=booking.created_at,
            cancelled_at=booking.cancelled_at,
        )


@strawberry.input(description="A place in a slot for the signed-in resident, or (staff) for `residentId`.")
class ReserveAppointmentInput:
    slot_id: strawberry.ID = strawberry.field(description="The slot, from `appointmentSlots`")
    resident_id: strawberry.ID | None = strawberry.field(
        default=None, description="staff in an assisted session: the resident's `Resident.id`"
    )


def _book(info: Info) -> AppointmentBook:
    return AppointmentBook(info.context.services.sessions)


def _rules(info: Info) -> logic.SlotRules:
    settings = info.context.services.settings
    return logic.SlotRules(
        settings.appointment_days, settings.appointment_slot_minutes, settings.appointment_capacity
    )


async def appointments_for(
    info: Info, acting: Acting, include_past: bool, include_cancelled: bool
) -> list[Appointment]:
    """The appointments of the resident ``acting`` acts for, soonest first (the caller logs the read)."""
    bookings = await logic.appointments_of(
        _book(info), acting, datetime.now(UTC), include_past, include_cancelled
    )
    return [Appointment.from_booking(b) for b in bookings]


async def _logged(info: Info, acting: Acting, booking: Booking) -> Appointment:
    await info.context.record_access(acting, ACCESS_DATA, None)
    return Appointment.from_booking(booking)


@strawberry.type
class Query:
    @strawberry.field(
        description="Slots of a station for a service that have not started, on the days from `from` "
        "(default today) to `to` (default a week on, at most 31 days); full ones too (available 0)."
    )
    async def appointment_slots(
        self,
        info: Info,
        station_id: Annotated[strawberry.ID, strawberry.argument(description="the station, e.g. ZD-0001")],
        service_id: Annotated[strawberry.ID, strawberry.argument(description="the service's catalogue code")],
        first: Annotated[
            date | None, strawberry.argument(name="from", description="first day (default today)")
        ] = None,
        last: Annotated[
            date | None, strawberry.argument(name="to", description="last day (default a week on)")
        ] = None,
    ) -> list[AppointmentSlot]:
        now = datetime.now(UTC)
        first_day, last_day = logic.days_asked(now, first, last)
        stations = await info.context.loaders.all_stations(path_of(info))
        station = logic.station_by_id(stations, str(station_id))
        if station is None:
            if not stations:  # the stations' department failed: its error is in `errors`
                return []
            raise BookingError("NOT_FOUND", "no such station")
        slots = await logic.open_slots(
            _book(info), station, str(service_id), first_day, last_day, _rules(info), now
        )
        return [AppointmentSlot.from_slot(s) for s in slots]

    @strawberry.field(description="The signed-in resident's appointments, soonest first")
    async def my_appointments(
        self,
        info: Info,
        include_past: Annotated[bool, strawberry.argument(description="also those already started")] = False,
        include_cancelled: Annotated[bool, strawberry.argument(description="also cancelled ones")] = False,
    ) -> list[Appointment]:
        acting = await info.context.acting_for(None, Purpose.APPOINTMENTS)
        appointments = await appointments_for(info, acting, include_past, include_cancelled)
        await info.context.record_access(acting, ACCESS_DATA, None)
        return appointments


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Take a place in a slot. SLOT_FULL, ALREADY_BOOKED (an appointment at that time "
        "already), SLOT_PAST, NOT_FOUND; staff need the resident's consent (CONSENT_REQUIRED)."
    )
    async def reserve_appointment(
        self,
        info: Info,
        input: Annotated[ReserveAppointmentInput, strawberry.argument(description="the slot")],
    ) -> Appointment:
        acting = await info.context.acting_for(input.resident_id, Purpose.APPOINTMENTS)
        channel = info.context.channel.value
        booking = await logic.reserve(_book(info), acting, str(input.slot_id), channel, datetime.now(UTC))
        return await _logged(info, acting, booking)

    @strawberry.mutation(
        description="Cancel an appointment and free its place. NOT_FOUND (also for another resident's), "
        "ALREADY_CANCELLED, APPOINTMENT_STARTED."
    )
    async def cancel_appointment(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="the appointment's id")],
        resident_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="staff in an assisted session: the resident's `Resident.id`"),
        ] = None,
    ) -> Appointment:
        acting = await info.context.acting_for(resident_id, Purpose.APPOINTMENTS)
        booking = await logic.cancel(_book(info), acting, str(id), datetime.now(UTC))
        return await _logged(info, acting, booking)

    @strawberry.mutation(
        description="Staff of the slot's station, or an operator: how many may book it (0-500; never "
        "below the places booked: CAPACITY_BELOW_BOOKED)."
    )
    async def set_slot_capacity(
        self,
        info: Info,
        slot_id: Annotated[strawberry.ID, strawberry.argument(description="the slot's id")],
        capacity: Annotated[int, strawberry.argument(description="places in the slot, 0..500")],
    ) -> AppointmentSlot:
        slot = await logic.set_capacity(_book(info), info.context.principal, str(slot_id), capacity)
        return AppointmentSlot.from_slot(slot)
