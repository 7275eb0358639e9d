"""Appointments through the gateway: slots from opening hours, reserve, list, cancel, capacity, the
typed refusals, and the attacks (resident A on B's appointments, staff without consent, admins)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.mapping import SHANGHAI
from domain.records import OpeningPeriod, StationRecord
from resolvers.appointments import SlotRules, bookable_days, days_asked, slot_times
from tests.access_support import (
    ask,
    consent,
    fixture,
    my_id,
    resident_gateway,
    resident_token,
    staff_token,
    start_session,
)
from tests.appointments_support import (
    CANCEL,
    CAPACITY,
    MINE,
    RESERVE,
    SERVICE,
    SLOTS,
    STATION,
    error_codes,
    next_weekday,
    operator_token,
    slots,
)
from tests.conftest import Admin, Gateway, GatewayFactory

A = fixture("senior_pudong")
B = fixture("veteran")


async def reserve(gateway: Gateway, token: str, slot: str, resident: str | None = None) -> dict[str, Any]:
    return await ask(gateway, token, RESERVE, slot=slot, resident=resident)


def booked(body: dict[str, Any]) -> dict[str, Any]:
    assert not body.get("errors"), body
    appointment: dict[str, Any] = body["data"]["reserveAppointment"]
    return appointment


async def test_slots_come_from_opening_hours(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(A)
    found = await slots(gateway, token)
    # Mon-Fri 09:00-17:00 in half hours, four places each, times in UTC (Shanghai is UTC+8)
    assert len(found) == 16
    assert found[0]["startsAt"].endswith("T01:00:00+00:00") and found[-1]["endsAt"].endswith(
        "T09:00:00+00:00"
    )
    assert {s["capacity"] for s in found} == {4} and {s["available"] for s in found} == {4}
    assert len({s["id"] for s in found}) == 16
    again = await slots(gateway, None)  # public: no token needed, and made only once
    assert [s["id"] for s in again] == [s["id"] for s in found]


async def test_slot_length_and_capacity_are_settings(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway, appointment_slot_minutes=60, appointment_capacity=9)
    found = await slots(gateway, None)
    assert len(found) == 8 and {s["capacity"] for s in found} == {9}


async def test_nothing_beyond_the_horizon_or_in_the_past(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway, appointment_days=3)
    far = next_weekday() + timedelta(days=30)
    assert await slots(gateway, None, far) == []
    assert await slots(gateway, None, next_weekday() - timedelta(days=10)) == []


async def test_reserve_list_cancel(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(A)
    slot = (await slots(gateway, token))[3]
    appointment = booked(await reserve(gateway, token, slot["id"]))
    assert appointment["status"] == "BOOKED" and appointment["slotId"] == slot["id"]
    after = {s["id"]: s for s in await slots(gateway, token)}[slot["id"]]
    assert after["booked"] == 1 and after["available"] == 3

    mine = await ask(gateway, token, MINE, past=False)
    assert [a["id"] for a in mine["data"]["myAppointments"]] == [appointment["id"]]
    me = await ask(gateway, token, "{ me { appointments { id station { id } service { id } } } }")
    listed = me["data"]["me"]["appointments"]
    assert listed == [{"id": appointment["id"], "station": {"id": STATION}, "service": {"id": SERVICE}}]

    cancelled = await ask(gateway, token, CANCEL, id=appointment["id"])
    assert cancelled["data"]["cancelAppointment"]["status"] == "CANCELLED"
    again = await ask(gateway, token, CANCEL, id=appointment["id"])
    assert error_codes(again) == ["ALREADY_CANCELLED"]
    freed = {s["id"]: s for s in await slots(gateway, token)}[slot["id"]]
    assert freed["booked"] == 0  # freed once, not twice
    upcoming = await ask(gateway, token, "{ me { appointments { id } } }")
    assert upcoming["data"]["me"]["appointments"] == []

    log = await ask(gateway, token, "{ me { accessLog(first: 50) { data purpose } } }")
    assert {"data": "appointments", "purpose": "APPOINTMENTS"} in log["data"]["me"]["accessLog"]


async def test_no_double_booking(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(A)
    slot = (await slots(gateway, token))[0]
    booked(await reserve(gateway, token, slot["id"]))
    assert error_codes(await reserve(gateway, token, slot["id"])) == ["ALREADY_BOOKED"]
    # the same time for another service is refused too: a resident is in one place at a time
    other = await ask(gateway, token, SLOTS, st=STATION, sv="GY-001", **{"from": next_weekday().isoformat()})
    same_time = [s for s in other["data"]["appointmentSlots"] if s["startsAt"] == slot["startsAt"]]
    assert len(same_time) == 1
    assert error_codes(await reserve(gateway, token, same_time[0]["id"])) == ["ALREADY_BOOKED"]
    later = [s for s in other["data"]["appointmentSlots"] if s["startsAt"] > slot["startsAt"]]
    booked(await reserve(gateway, token, later[0]["id"]))  # another time is fine
    count = {s["id"]: s for s in await slots(gateway, token)}[slot["id"]]["booked"]
    assert count == 1


async def test_full_slot_and_capacity(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    slot = (await slots(gateway, None))[5]
    operator = operator_token()
    changed = await ask(gateway, operator, CAPACITY, slot=slot["id"], capacity=1)
    assert changed["data"]["setSlotCapacity"] == {
        "id": slot["id"],
        "capacity": 1,
        "booked": 0,
        "available": 1,
    }
    booked(await reserve(gateway, resident_token(A), slot["id"]))
    assert error_codes(await reserve(gateway, resident_token(B), slot["id"])) == ["SLOT_FULL"]
    below = await ask(gateway, operator, CAPACITY, slot=slot["id"], capacity=0)
    assert error_codes(below) == ["CAPACITY_BELOW_BOOKED"]
    own_staff = staff_token(station=STATION)
    raised = await ask(gateway, own_staff, CAPACITY, slot=slot["id"], capacity=2)
    assert raised["data"]["setSlotCapacity"]["available"] == 1
    booked(await reserve(gateway, resident_token(B), slot["id"]))


async def test_who_may_change_capacity(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    slot = (await slots(gateway, None))[0]["id"]
    for token, code in (
        (None, "UNAUTHENTICATED"),
        (resident_token(A), "FORBIDDEN"),
        (staff_token(station="ZD-0002"), "FORBIDDEN"),  # another station's staff
    ):
        body = await ask(gateway, token, CAPACITY, slot=slot, capacity=40)
        assert error_codes(body) == [code], body
    assert error_codes(await ask(gateway, operator_token(), CAPACITY, slot=slot, capacity=501)) == [
        "BAD_USER_INPUT"
    ]
    assert error_codes(await ask(gateway, operator_token(), CAPACITY, slot="999999", capacity=3)) == [
        "NOT_FOUND"
    ]


async def test_bad_questions_are_typed(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    day = next_weekday()
    cases = [
        ({"st": "ZD-9999", "sv": SERVICE}, "NOT_FOUND"),
        ({"st": STATION, "sv": "MZ-001"}, "BAD_USER_INPUT"),  # not offered there
        (
            {
                "st": STATION,
                "sv": SERVICE,
                "from": day.isoformat(),
                "to": (day - timedelta(days=1)).isoformat(),
            },
            "BAD_USER_INPUT",
        ),
        (
            {
                "st": STATION,
                "sv": SERVICE,
                "from": day.isoformat(),
                "to": (day + timedelta(days=40)).isoformat(),
            },
            "BAD_USER_INPUT",
        ),
    ]
    for variables, code in cases:
        body = await ask(gateway, None, SLOTS, **variables)
        assert error_codes(body) == [code], (variables, body)
    token = resident_token(A)
    for slot in ("0", "abc", "-1", "1" * 20):
        assert error_codes(await reserve(gateway, token, slot)) == ["NOT_FOUND"]
    assert error_codes(await ask(gateway, token, CANCEL, id="nope")) == ["NOT_FOUND"]


async def test_attacks_on_another_residents_appointments(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    a, b = resident_token(A), resident_token(B)
    slot = (await slots(gateway, a))[2]
    mine = booked(await reserve(gateway, a, slot["id"]))
    a_id = await my_id(gateway, a)

    # B cancels A's appointment: not found (its existence is none of B's business), and it stays
    assert error_codes(await ask(gateway, b, CANCEL, id=mine["id"])) == ["NOT_FOUND"]
    assert error_codes(await ask(gateway, b, CANCEL, id=mine["id"], resident=a_id)) == ["FORBIDDEN"]
    # B lists A's, or books for A
    assert error_codes(
        await ask(gateway, b, "query($r: ID!) { resident(id: $r) { appointments { id } } }", r=a_id)
    ) == ["FORBIDDEN"]
    assert error_codes(await reserve(gateway, b, slot["id"], resident=a_id)) == ["FORBIDDEN"]
    assert [x["id"] for x in (await ask(gateway, b, MINE, past=True))["data"]["myAppointments"]] == []
    # admins and the anonymous see none
    assert error_codes(await ask(gateway, operator_token(), MINE, past=True)) == ["FORBIDDEN"]
    assert error_codes(await ask(gateway, None, MINE, past=True)) == ["UNAUTHENTICATED"]
    assert error_codes(await reserve(gateway, operator_token(), slot["id"])) == ["FORBIDDEN"]

    still = await ask(gateway, a, MINE, past=False)
    assert [(x["id"], x["status"]) for x in still["data"]["myAppointments"]] == [(mine["id"], "BOOKED")]
    assert {s["id"]: s for s in await slots(gateway, a)}[slot["id"]]["booked"] == 1


async def test_staff_book_only_with_consent(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    staff = staff_token(station=STATION)
    slot = (await slots(gateway, None))[1]["id"]
    a_id = await my_id(gateway, resident_token(A))
    assert error_codes(await reserve(gateway, staff, slot, resident=a_id)) == ["CONSENT_REQUIRED"]
    assert error_codes(await reserve(gateway, staff, slot)) == ["FORBIDDEN"]  # staff book for somebody

    cases_only = await start_session(gateway, staff, A, ["CASES"])
    assert not (await consent(gateway, resident_token(A), cases_only["id"])).get("errors")
    assert error_codes(await reserve(gateway, staff, slot, resident=cases_only["residentId"])) == [
        "CONSENT_REQUIRED"
    ]

    session = await start_session(gateway, staff, A, ["APPOINTMENTS"])
    assert error_codes(await reserve(gateway, staff, slot, resident=session["residentId"])) == [
        "CONSENT_REQUIRED"
    ]
    assert not (await consent(gateway, resident_token(A), session["id"])).get("errors")
    made = booked(await reserve(gateway, staff, slot, resident=session["residentId"]))
    listed = await ask(gateway, resident_token(A), MINE, past=False)
    assert made["id"] in [x["id"] for x in listed["data"]["myAppointments"]]
    cancelled = await ask(gateway, staff, CANCEL, id=made["id"], resident=session["residentId"])
    assert cancelled["data"]["cancelAppointment"]["status"] == "CANCELLED"


async def test_stations_department_down(make_gateway: GatewayFactory, admin: Admin) -> None:
    """No stations to make slots from: an empty answer and the department's typed error, not a 500."""
    gateway = await resident_gateway(make_gateway)
    await admin.fault("community", down=True)
    body = await ask(gateway, None, SLOTS, st=STATION, sv=SERVICE)
    assert body["data"]["appointmentSlots"] == []
    assert error_codes(body) and all(c.startswith("UPSTREAM_") for c in error_codes(body)), body


def station_open(periods: list[tuple[int, str, str]]) -> StationRecord:
    def minutes(clock: str) -> int:
        hours, mins = clock.split(":")
        return int(hours) * 60 + int(mins)

    hours = tuple(OpeningPeriod(day, minutes(opens), minutes(closes)) for day, opens, closes in periods)
    return StationRecord("ZD-9", "community", "站", "镇", "路", 31.2, 121.5, "", hours, (SERVICE,))


def test_slot_times_follow_every_opening_period() -> None:
    station = station_open(
        [(1, "13:30", "17:00"), (1, "09:00", "12:00"), (6, "09:00", "12:00"), (2, "09:00", "09:20")]
    )
    monday = date(2026, 11, 30)
    times = slot_times(station, monday, monday + timedelta(days=6), 30)
    by_day = Counter(t.starts_at.astimezone(SHANGHAI).date().isoweekday() for t in times)
    assert by_day == {1: 6 + 7, 6: 6}  # Tuesday's 20 minutes hold no 30-minute slot, Sunday is closed
    first = times[0]
    assert first.starts_at == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert first.ends_at - first.starts_at == timedelta(minutes=30)
    assert [t.starts_at for t in times] == sorted(t.starts_at for t in times)


def test_days_asked_and_the_horizon() -> None:
    now = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # already the 26th in Shanghai
    assert days_asked(now, None, None) == (date(2026, 11, 26), date(2026, 12, 2))
    rules = SlotRules(days_ahead=3, minutes=30, capacity=4)
    assert bookable_days(now, date(2026, 11, 20), date(2026, 12, 31), rules) == (
        date(2026, 11, 26),
        date(2026, 11, 28),
    )
    assert bookable_days(now, date(2026, 12, 1), date(2026, 12, 5), rules) is None


async def test_dates_at_the_ends_of_the_calendar(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    for first, last in (("9999-12-31", None), ("0001-01-01", "0001-01-02"), ("9999-12-01", "9999-12-31")):
        body = await ask(gateway, None, SLOTS, st=STATION, sv=SERVICE, **{"from": first, "to": last})
        assert body["data"]["appointmentSlots"] == [] and not body.get("errors"), body
