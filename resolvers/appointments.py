"""Appointments at stations: where slots come from, and reserving, cancelling and listing them.

Slots are made from each station's weekly opening hours, on demand: the first time anyone looks at
(station, service, days), the slots of those days that are within the booking horizon
(``ONESTOP_APPOINTMENT_DAYS``) are created — ``ONESTOP_APPOINTMENT_SLOT_MINUTES`` long, with
``ONESTOP_APPOINTMENT_CAPACITY`` places each — and from then on they live in the gateway's store, where
station staff (of that station) or operators may change a slot's capacity. A station that changes its
hours changes the slots not yet made; slots already made (and booked) stay as they are.

Plain functions over plain values; the guarantees against double and over-booking are the store's
(``store.appointment_book``), so they hold across gateway processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from access.policy import AccessDenied, Acting
from connectors.mapping import SHANGHAI
from domain.records import StationRecord
from identity.principal import Principal, Role
from resolvers.errors import InputError
from store.appointment_book import AppointmentBook, Booker, Booking, BookingError, Slot, SlotTime

MAX_RANGE_DAYS = 31
MAX_CAPACITY = 500


@dataclass(frozen=True, slots=True)
class SlotRules:
    days_ahead: int  # slots are offered for today and the days after it, this many in all
    minutes: int  # how long one slot is
    capacity: int  # places in a slot when it is made


def slot_times(station: StationRecord, first: date, last: date, minutes: int) -> list[SlotTime]:
    """Every slot of ``minutes`` that fits in the station's opening hours, ``first`` to ``last``."""
    times: list[SlotTime] = []
    day = first
    while day <= last:
        midnight = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
        for period in sorted(station.opening_hours, key=lambda p: p.opens):
            if period.weekday != day.isoweekday():
                continue
            start = period.opens
            while start + minutes <= period.closes:
                begins = midnight + timedelta(minutes=start)
                times.append(
                    SlotTime(begins.astimezone(UTC), (begins + timedelta(minutes=minutes)).astimezone(UTC))
                )
                start += minutes
        day += timedelta(days=1)
    return times


def days_asked(now: datetime, first: date | None, last: date | None) -> tuple[date, date]:
    """The days asked for (Shanghai dates): ``first`` defaults to today, ``last`` to a week on."""
    today = now.astimezone(SHANGHAI).date()
    first = first or today
    if last is None:
        last = first + timedelta(days=6) if first <= date.max - timedelta(days=6) else date.max
    if last < first:
        raise InputError("to", "must not be before 'from'")
    if (last - first).days >= MAX_RANGE_DAYS:
        raise InputError("to", f"at most {MAX_RANGE_DAYS} days from 'from'")
    return first, last


def bookable_days(now: datetime, first: date, last: date, rules: SlotRules) -> tuple[date, date] | None:
    """The part of [first, last] within the booking horizon, or None."""
    today = now.astimezone(SHANGHAI).date()
    start, end = max(first, today), min(last, today + timedelta(days=rules.days_ahead - 1))
    return (start, end) if start <= end else None


async def open_slots(
    book: AppointmentBook,
    station: StationRecord,
    service_id: str,
    first: date,
    last: date,
    rules: SlotRules,
    now: datetime,
) -> list[Slot]:
    """The station's slots for the service on those days that have not started, made if need be."""
    if service_id not in station.service_ids:
        raise InputError("serviceId", "this station does not offer this service")
    days = bookable_days(now, first, last, rules)
    if days is None:
        return []
    await book.ensure_slots(station.id, service_id, slot_times(station, *days, rules.minutes), rules.capacity)
    start = max(now, datetime(days[0].year, days[0].month, days[0].day, tzinfo=SHANGHAI))
    end = datetime(days[1].year, days[1].month, days[1].day, tzinfo=SHANGHAI) + timedelta(days=1)
    return await book.slots(station.id, service_id, start, end)


def parse_slot_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise BookingError("NOT_FOUND", "no such slot")
    return int(value)


async def reserve(
    book: AppointmentBook, acting: Acting, slot_id: str, channel: str, now: datetime
) -> Booking:
    """A place in the slot for the resident ``acting`` acts for (themself, or staff with consent)."""
    booker = Booker(acting.resident_digest, acting.actor_digest, acting.session_id, channel)
    return await book.reserve(parse_slot_id(slot_id), booker, now)


async def cancel(book: AppointmentBook, acting: Acting, appointment_id: str, now: datetime) -> Booking:
    """Cancel one of the resident's own appointments; another resident's is NOT_FOUND."""
    if len(appointment_id) > 64:
        raise BookingError("NOT_FOUND", "no such appointment of this resident")
    return await book.cancel(appointment_id, acting.resident_digest, now)


async def appointments_of(
    book: AppointmentBook, acting: Acting, now: datetime, include_past: bool, include_cancelled: bool
) -> list[Booking]:
    return await book.bookings_of(acting.resident_digest, None if include_past else now, include_cancelled)


async def set_capacity(
    book: AppointmentBook, principal: Principal | None, slot_id: str, capacity: int
) -> Slot:
    """Staff of the slot's station, or an operator, change how many may book it."""
    if principal is None:
        raise AccessDenied("UNAUTHENTICATED", "changing a slot needs a bearer token")
    if not 0 <= capacity <= MAX_CAPACITY:
        raise InputError("capacity", f"between 0 and {MAX_CAPACITY}")
    slot = await book.slot(parse_slot_id(slot_id))
    if slot is None:
        raise BookingError("NOT_FOUND", "no such slot")
    allowed = principal.role is Role.OPERATOR or (
        principal.role is Role.STAFF and principal.station == slot.station_id
    )
    if not allowed:
        raise AccessDenied("FORBIDDEN", "only the station's staff or an operator may change its slots")
    return await book.set_capacity(slot.id, capacity)


def station_by_id(stations: Sequence[StationRecord], station_id: str) -> StationRecord | None:
    return next((s for s in stations if s.id == station_id), None)
