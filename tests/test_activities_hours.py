"""Volunteers' hours the department did not confirm are sent again by the gateway, not by staff calling
again: the sweep (``Activities.once``, run by a supervised task) re-sends a PENDING report under the
same key once its wait is over, exactly once across racing processes, writes the volunteer's access-log
row attributed to the staff member who confirmed, and gives up on a volunteer who can no longer be
identified — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import select, update

from mocks.server import RunningMocks
from resolvers.activities import Activities
from resolvers.volunteer_hours import Retry
from store.access import AccessLogRow
from store.activities import HOURS_PENDING, HOURS_REPORTED, HOURS_UNREPORTABLE, ActivityRow
from store.activity_book import ActivityBook
from tests.access_support import ask, codes, resident_gateway
from tests.activities_support import REPORT, STAFF, move_clock
from tests.appointments_support import STATION
from tests.conftest import Admin, Gateway, GatewayFactory
from tests.test_activities import VOLUNTEER, hours_of, volunteer_session
from tests.waiting import until

SENT = "/volunteer/csv/hours/report"
STAFF_SUBJECT = "staff-activities"  # the subject of tests.activities_support.STAFF


QUIET = {"hours_report_interval_s": 3600}  # the clock-driven tests call ``once`` themselves


async def confirmed_while_down(gateway: Gateway, admin: Admin, hours: int = 2) -> str:
    """A volunteer's session, ended, confirmed by staff while the department is down: PENDING."""
    activity = await volunteer_session(gateway, hours)
    move_clock(gateway, timedelta(days=2))
    [activity_id] = await confirm_while_down(gateway, admin, [activity["id"]])
    return activity_id


async def confirm_while_down(gateway: Gateway, admin: Admin, activity_ids: list[str]) -> list[str]:
    await admin.fault("volunteer", down=True)
    for activity_id in activity_ids:
        down = await ask(gateway, STAFF, REPORT, id=activity_id)
        assert codes(down)[0].startswith("UPSTREAM_"), down
        row = await activity_row(gateway, activity_id)
        assert row.hours_state == HOURS_PENDING and row.hours_last_error, row
    await admin.clear_faults()
    return activity_ids


async def activity_row(gateway: Gateway, activity_id: str) -> ActivityRow:
    async with gateway.services.sessions() as session:
        row = await session.get(ActivityRow, activity_id)
        assert row is not None
        return row


async def sent(admin: Admin) -> int:
    return (await admin.paths("volunteer")).get(SENT, 0)


async def hours_log(gateway: Gateway, activity_id: str) -> list[Any]:
    """The volunteer's access-log rows saying their hours (their ID number) went to a department."""
    host = (await activity_row(gateway, activity_id)).host_digest
    async with gateway.services.sessions() as session:
        rows = await session.scalars(
            select(AccessLogRow).where(
                AccessLogRow.resident_digest == host, AccessLogRow.data == "volunteer_hours"
            )
        )
        return list(rows)


async def test_the_sweep_sends_a_pending_report_once_when_the_department_is_back(
    make_gateway: GatewayFactory,
    database_url: str,
    mocks: RunningMocks,
    http: aiohttp.ClientSession,
    admin: Admin,
) -> None:
    gateway = await resident_gateway(make_gateway, database_url=database_url, **QUIET)
    service = gateway.services.activities
    before = await hours_of(http, mocks, VOLUNTEER.id_number)
    activity_id = await confirmed_while_down(gateway, admin)
    tries = await sent(admin)
    assert await service.once() == 0  # its wait is not over: nothing sent
    assert await sent(admin) == tries
    move_clock(gateway, timedelta(minutes=1))
    assert await service.once() == 1
    assert await sent(admin) == tries + 1
    assert await hours_of(http, mocks, VOLUNTEER.id_number) == before + 2
    row = await activity_row(gateway, activity_id)
    assert row.hours_state == HOURS_REPORTED and row.hours_retry_at is None and row.hours_last_error is None
    move_clock(gateway, timedelta(days=1))
    assert await service.once() == 0  # a REPORTED one is never sent again
    assert await sent(admin) == tries + 1
    [logged] = await hours_log(gateway, activity_id)
    assert logged.actor_digest == gateway.services.digester.of(STAFF_SUBJECT)
    assert (logged.actor_role, logged.station, logged.purpose) == ("staff", STATION, "ACTIVITIES")
    assert logged.department == "volunteer" and logged.channel == "counter"
    # staff asking afterwards find it reported, and nothing is sent
    again = await ask(gateway, STAFF, REPORT, id=activity_id)
    assert again["data"]["reportVolunteerHours"]["state"] == "REPORTED"
    assert await sent(admin) == tries + 1


async def test_the_wait_doubles_while_the_department_stays_down(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway, **QUIET)
    service = gateway.services.activities
    activity_id = await confirmed_while_down(gateway, admin)
    await admin.fault("volunteer", down=True)
    waits = []
    for _ in range(8):
        row = await activity_row(gateway, activity_id)
        assert row.hours_retry_at is not None
        now = service.now()
        move_clock(gateway, row.hours_retry_at - now)
        assert await service.once() == 0
        retry_at = (await activity_row(gateway, activity_id)).hours_retry_at
        assert retry_at is not None
        waits.append(retry_at - row.hours_retry_at)  # the real clock runs on under the moved one
    # doubling from 30 s (the wait after staff's own try), bounded by an hour
    assert [round(w.total_seconds()) for w in waits] == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert (await activity_row(gateway, activity_id)).hours_attempts == 9
    assert await hours_log(gateway, activity_id) == []  # nothing reached the department: nothing logged


async def test_racing_sweeps_send_each_report_once(
    make_gateway: GatewayFactory, database_url: str, admin: Admin
) -> None:
    # three failures in a row would open the breaker, and the sweep would wait for it too
    gateway = await resident_gateway(
        make_gateway, database_url=database_url, policy={"breaker_failures": 50}, **QUIET
    )
    sessions = [await volunteer_session(gateway, hours) for hours in (1, 2, 3)]
    move_clock(gateway, timedelta(days=2))
    activity_ids = await confirm_while_down(gateway, admin, [a["id"] for a in sessions])
    part = gateway.services.activities
    assert part.reporting is not None
    move_clock(gateway, timedelta(hours=1))
    tries = await sent(admin)
    # six processes' Activities parts on one store, sweeping at the same moment
    book = ActivityBook(gateway.services.sessions)
    racing = [Activities(book, part.clock, part.reporting) for _ in range(6)]
    filed = await asyncio.gather(*(r.once() for r in racing))
    assert sum(filed) == 3
    assert await sent(admin) == tries + 3
    for activity_id in activity_ids:
        assert (await activity_row(gateway, activity_id)).hours_state == HOURS_REPORTED
    assert len(await hours_log(gateway, activity_ids[0])) == 3  # one volunteer: a row per report sent


async def test_a_volunteer_who_can_no_longer_be_identified_stops_the_retries(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway, **QUIET)
    service = gateway.services.activities
    activity_id = await confirmed_while_down(gateway, admin)
    async with gateway.services.sessions.begin() as session:  # as if sealed under another resident key
        await session.execute(
            update(ActivityRow).where(ActivityRow.id == activity_id).values(host_seal="not-a-seal")
        )
    tries = await sent(admin)
    move_clock(gateway, timedelta(hours=1))
    assert await service.once() == 0
    row = await activity_row(gateway, activity_id)
    assert row.hours_state == HOURS_UNREPORTABLE and row.hours_retry_at is None
    assert row.hours_last_error is not None and row.hours_last_error.startswith("VOLUNTEER_UNKNOWN")
    move_clock(gateway, timedelta(days=30))
    assert await service.once() == 0
    assert await sent(admin) == tries  # never sent again
    refused = await ask(gateway, STAFF, REPORT, id=activity_id)  # what staff see
    assert codes(refused) == ["VOLUNTEER_UNKNOWN"]
    assert refused["errors"][0]["extensions"]["state"] == "UNREPORTABLE"
    assert await sent(admin) == tries


async def test_the_background_sweep_sends_it(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway, hours_report_interval_s=0.05)
    before = await hours_of(http, mocks, VOLUNTEER.id_number)
    activity_id = await confirmed_while_down(gateway, admin, hours=3)
    tries = await sent(admin)
    move_clock(gateway, timedelta(minutes=1))  # the wait is over: the running sweep sends it

    async def reported() -> bool:
        return (await activity_row(gateway, activity_id)).hours_state == HOURS_REPORTED

    await until(reported, what="the sweep reported the hours")
    assert await hours_of(http, mocks, VOLUNTEER.id_number) == before + 3
    assert await sent(admin) == tries + 1
    assert len(await hours_log(gateway, activity_id)) == 1


def test_the_wait_stays_bounded_after_weeks_of_tries() -> None:
    assert Retry().after(1) == timedelta(seconds=30) and Retry().after(2) == timedelta(seconds=60)
    assert Retry().after(5000) == timedelta(hours=1)
