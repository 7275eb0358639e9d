"""No over-booking and no double booking under concurrency — on SQLite and PostgreSQL, in one gateway
and across two gateway processes sharing one database: 200 residents (200 tokens) reserving a slot of
20 places at once get exactly 20 bookings; racing cancellations free a place once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from mocks.server import RunningMocks
from store.appointment_book import AppointmentBook, Booker, BookingError, SlotTime
from store.db import create_engine, migrate, session_factory
from tests.access_support import resident_gateway, resident_token
from tests.appointments_support import (
    CANCEL,
    CAPACITY,
    RESERVE,
    SERVICE,
    STATION,
    error_codes,
    gateway_processes,
    next_weekday,
    operator_token,
    residents,
    slots,
)
from tests.conftest import GatewayFactory

RESIDENTS = 200
PLACES = 20
SLOTS_QUERY = """query($st: ID!, $sv: ID!, $from: Date, $to: Date) {
  appointmentSlots(stationId: $st, serviceId: $sv, from: $from, to: $to) { id booked }
}"""


def slot_variables() -> dict[str, str]:
    day = next_weekday().isoformat()
    return {"st": STATION, "sv": SERVICE, "from": day, "to": day}


def outcome(body: dict[str, Any]) -> str:
    if body.get("data") and body["data"].get("reserveAppointment"):
        return "BOOKED"
    codes = error_codes(body)
    assert len(codes) == 1, body
    return codes[0]


async def test_200_residents_20_places_one_gateway(make_gateway: GatewayFactory, database_url: str) -> None:
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    slot = (await slots(gateway, None))[0]["id"]
    changed = await gateway.query(
        CAPACITY, {"slot": slot, "capacity": PLACES}, authorization=f"Bearer {operator_token()}"
    )
    assert changed["data"]["setSlotCapacity"]["capacity"] == PLACES

    async def one(id_number: str) -> str:
        token = resident_token(id_number)
        body = await gateway.query(RESERVE, {"slot": slot}, authorization=f"Bearer {token}")
        return outcome(body)

    results = Counter(await asyncio.gather(*(one(r) for r in residents(RESIDENTS))))
    assert results == {"BOOKED": PLACES, "SLOT_FULL": RESIDENTS - PLACES}
    final = {s["id"]: s for s in await slots(gateway, None)}[slot]
    assert final["booked"] == PLACES and final["available"] == 0
    book = AppointmentBook(gateway.services.sessions)
    assert await book.bookings_of_slot([int(slot)]) == PLACES


async def test_racing_cancellations_free_one_place(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        book = AppointmentBook(session_factory(engine))
        now = datetime.now(UTC)
        start = now + timedelta(days=1)
        await book.ensure_slots("ZD-0001", "GH-003", [SlotTime(start, start + timedelta(minutes=30))], 3)
        slot = (await book.slots("ZD-0001", "GH-003", now, now + timedelta(days=2)))[0]
        keep = await book.reserve(slot.id, Booker("resident-a", "resident-a", None, "app"), now)
        gone = await book.reserve(slot.id, Booker("resident-b", "resident-b", None, "app"), now)

        async def cancel() -> str:
            try:
                await book.cancel(gone.id, "resident-b", now)
            except BookingError as error:
                return error.code
            return "CANCELLED"

        results = Counter(await asyncio.gather(*(cancel() for _ in range(20))))
        assert results == {"CANCELLED": 1, "ALREADY_CANCELLED": 19}
        after = await book.slot(slot.id)
        assert after is not None and after.booked == 1
        # the other booking is untouched, and somebody else's id is not found
        assert [b.id for b in await book.bookings_of("resident-a")] == [keep.id]
        try:
            await book.cancel(keep.id, "resident-b", now)
        except BookingError as error:
            assert error.code == "NOT_FOUND"
        else:
            raise AssertionError("cancelled another resident's booking")
    finally:
        await engine.dispose()


async def test_one_resident_racing_for_one_time(database_url: str) -> None:
    """The same resident, ten requests for the same slot (and a same-time slot elsewhere): one booking."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        book = AppointmentBook(session_factory(engine))
        now = datetime.now(UTC)
        start = now + timedelta(days=2)
        times = [SlotTime(start, start + timedelta(minutes=30))]
        await book.ensure_slots("ZD-0001", "GH-003", times, 10)
        await book.ensure_slots("ZD-0002", "GY-001", times, 10)
        window = (now, now + timedelta(days=3))
        ids = [
            (await book.slots(st, sv, *window))[0].id
            for st, sv in (("ZD-0001", "GH-003"), ("ZD-0002", "GY-001"))
        ]
        booker = Booker("resident-c", "resident-c", None, "kiosk")

        async def reserve(slot_id: int) -> str:
            try:
                await book.reserve(slot_id, booker, now)
            except BookingError as error:
                return error.code
            return "BOOKED"

        results = Counter(await asyncio.gather(*(reserve(ids[i % 2]) for i in range(10))))
        assert results == {"BOOKED": 1, "ALREADY_BOOKED": 9}
        booked = [await book.slot(i) for i in ids]
        assert sum(s.booked for s in booked if s is not None) == 1
    finally:
        await engine.dispose()


async def test_200_residents_20_places_two_gateway_processes(
    mocks: RunningMocks, database_url: str, tmp_path: Any
) -> None:
    async with gateway_processes(mocks, database_url, tmp_path) as urls:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def ask(url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
                response = await client.post(
                    f"{url}/graphql",
                    json={"query": query, "variables": variables},
                    headers={"authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                return body

            found = await ask(urls[0], operator_token(), SLOTS_QUERY, **slot_variables())
            slot = found["data"]["appointmentSlots"][0]["id"]
            changed = await ask(urls[1], operator_token(), CAPACITY, slot=slot, capacity=PLACES)
            assert changed["data"]["setSlotCapacity"]["capacity"] == PLACES

            people = residents(RESIDENTS)
            bodies = await asyncio.gather(
                *(ask(urls[i % 2], resident_token(r), RESERVE, slot=slot) for i, r in enumerate(people))
            )
            results = Counter(outcome(b) for b in bodies)
            assert results == {"BOOKED": PLACES, "SLOT_FULL": RESIDENTS - PLACES}
            winners = [b["data"]["reserveAppointment"]["id"] for b in bodies if outcome(b) == "BOOKED"]
            assert len(set(winners)) == PLACES

            # one winner cancels on both processes at once: the place is freed once
            index = next(i for i, b in enumerate(bodies) if outcome(b) == "BOOKED")
            token = resident_token(people[index])
            cancels = await asyncio.gather(*(ask(url, token, CANCEL, id=winners[0]) for url in urls * 3))
            assert sorted(error_codes(c)[0] if c.get("errors") else "CANCELLED" for c in cancels) == [
                "ALREADY_CANCELLED"
            ] * 5 + ["CANCELLED"]
            after = await ask(urls[1], operator_token(), SLOTS_QUERY, **slot_variables())
            final = {s["id"]: s for s in after["data"]["appointmentSlots"]}[slot]
            assert final["booked"] == PLACES - 1


async def test_cancel_and_rebook_at_once_never_deadlock(database_url: str) -> None:
    """A resident cancels and books the same slot again at the same moment, twenty times over: each
    pair ends cleanly (no deadlock, no lock error) and the slot's count matches its bookings."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        book = AppointmentBook(session_factory(engine))
        now = datetime.now(UTC)
        start = now + timedelta(days=3)
        await book.ensure_slots("ZD-0001", "GH-003", [SlotTime(start, start + timedelta(minutes=30))], 5)
        slot = (await book.slots("ZD-0001", "GH-003", now, now + timedelta(days=4)))[0]
        booker = Booker("resident-d", "resident-d", None, "app")
        current = await book.reserve(slot.id, booker, now)
        for _ in range(20):

            async def rebook() -> str:
                try:
                    return (await book.reserve(slot.id, booker, now)).id
                except BookingError as error:
                    assert error.code == "ALREADY_BOOKED"
                    return ""

            cancelled, again = await asyncio.gather(book.cancel(current.id, "resident-d", now), rebook())
            assert cancelled.status == "CANCELLED"
            current = (
                (await book.bookings_of("resident-d"))[0]
                if again
                else await book.reserve(slot.id, booker, now)
            )
            active = await book.bookings_of("resident-d")
            assert [b.id for b in active] == [current.id]
            counted = await book.slot(slot.id)
            assert counted is not None and counted.booked == 1
    finally:
        await engine.dispose()


async def test_slots_made_at_once_by_many_are_made_once(database_url: str) -> None:
    """Replicas looking at the same new day together: every slot exists once, nobody fails."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        book = AppointmentBook(session_factory(engine))
        now = datetime.now(UTC)
        base = now.replace(microsecond=0) + timedelta(days=5)
        times = [
            SlotTime(base + timedelta(minutes=30 * i), base + timedelta(minutes=30 * (i + 1)))
            for i in range(16)
        ]
        await asyncio.gather(*(book.ensure_slots("ZD-0003", "GH-003", times, 4) for _ in range(12)))
        made = await book.slots("ZD-0003", "GH-003", now, now + timedelta(days=6))
        assert [s.starts_at for s in made] == [t.starts_at for t in times]
        # a second look keeps what is there (capacity changed meanwhile stays changed)
        await book.set_capacity(made[0].id, 9)
        await book.ensure_slots("ZD-0003", "GH-003", times, 4)
        again = await book.slots("ZD-0003", "GH-003", now, now + timedelta(days=6))
        assert [s.id for s in again] == [s.id for s in made] and again[0].capacity == 9
    finally:
        await engine.dispose()
