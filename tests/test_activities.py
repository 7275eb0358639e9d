"""Station activities through the gateway: who may offer one (staff at their station, registered
volunteers — asked of the volunteer department), sign-ups with a waiting list under concurrency on both
databases, staff signing up a resident with consent, `stations { activities }` batched and never served
stale from the response cache, and volunteers' hours reported once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import aiohttp

from mocks.server import RunningMocks
from tests.access_support import (
    WORLD,
    ask,
    codes,
    consent,
    fixture,
    my_id,
    refused,
    resident_gateway,
    resident_token,
    staff_token,
    start_session,
)
from tests.activities_support import (
    CANCEL,
    MINE,
    REPORT,
    SIGN_UP,
    STAFF,
    STATIONS,
    create,
    move_clock,
    offer,
    outcome,
)
from tests.appointments_support import STATION, residents
from tests.conftest import Admin, GatewayFactory
from tests.test_response_cache import count_executions

VOLUNTEER = fixture("senior_pudong")  # 120 hours on the volunteer department's register
NOT_VOLUNTEER = fixture("veteran")  # no hours: not registered


async def test_staff_offer_at_their_own_station_only(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    created = await create(gateway, places=12)
    assert created["host"] == "STATION" and created["places"] == 12 and created["available"] == 12
    elsewhere = await ask(gateway, staff_token("staff-x", "ZD-0002"), CREATE_DOC, input=offer())
    refused(elsewhere, "FORBIDDEN")
    bad = await ask(gateway, STAFF, CREATE_DOC, input=offer(places=0))
    assert codes(bad) == ["BAD_USER_INPUT"] and bad["errors"][0]["extensions"]["argument"] == "input.places"
    past = await ask(gateway, STAFF, CREATE_DOC, input=offer(starts_in=timedelta(hours=-1)))
    assert codes(past) == ["BAD_USER_INPUT"]
    refused(await ask(gateway, None, CREATE_DOC, input=offer()), "UNAUTHENTICATED")


CREATE_DOC = "mutation($input: CreateActivityInput!) { createActivity(input: $input) { id host } }"


async def test_a_registered_volunteer_hosts_and_a_non_volunteer_cannot(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway)
    hosted = await ask(gateway, resident_token(VOLUNTEER), CREATE_DOC, input=offer())
    assert not hosted.get("errors"), hosted
    assert hosted["data"]["createActivity"]["host"] == "VOLUNTEER"
    assert (await admin.paths("volunteer")).get("/volunteer/csv/volunteers", 0) >= 1  # asked, not assumed
    denied = await ask(gateway, resident_token(NOT_VOLUNTEER), CREATE_DOC, input=offer())
    assert codes(denied) == ["NOT_A_VOLUNTEER"] and denied["data"] is None
    log = await ask(
        gateway, resident_token(NOT_VOLUNTEER), "{ me { accessLog(first: 5) { data departmentId } } }"
    )
    assert {"data": "volunteer_register", "departmentId": "volunteer"} in log["data"]["me"]["accessLog"]
    # the department down: no activity, a typed upstream error (never a guess either way)
    await admin.fault("volunteer", down=True)
    other = next(r for r in WORLD.residents[20:] if r.volunteer_hours > 0)
    down = await ask(gateway, resident_token(other), CREATE_DOC, input=offer())
    assert codes(down)[0].startswith("UPSTREAM_") and down["data"] is None


async def test_100_sign_ups_for_10_places(make_gateway: GatewayFactory, database_url: str) -> None:
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    activity = await create(gateway, places=10)
    people = residents(100)
    bodies = await asyncio.gather(
        *(ask(gateway, resident_token(r), SIGN_UP, activity=activity["id"]) for r in people)
    )
    assert Counter(outcome(b) for b in bodies) == {"SIGNED_UP": 10, "WAITING": 90}
    waiting = sorted(
        b["data"]["signUpForActivity"]["waitingAhead"] for b in bodies if outcome(b) == "WAITING"
    )
    assert waiting == list(range(90))  # a waiting list in order, each place in it once
    stations = await ask(gateway, None, STATIONS, first=5)
    shown = [
        a
        for hit in stations["data"]["stations"]
        for a in hit["station"]["activities"]
        if a["id"] == activity["id"]
    ]
    assert shown == [
        {"id": activity["id"], "titleEn": "Umbrella repair", "places": 10, "taken": 10, "available": 0}
    ]
    # the same resident again: refused, no place taken
    again = await ask(gateway, resident_token(people[0]), SIGN_UP, activity=activity["id"])
    assert outcome(again) == "ALREADY_SIGNED_UP"


async def test_cancel_promotes_the_first_waiting_exactly_once(
    make_gateway: GatewayFactory, database_url: str
) -> None:
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    activity = await create(gateway, places=2)
    people = residents(5)
    ups = [await ask(gateway, resident_token(r), SIGN_UP, activity=activity["id"]) for r in people]
    assert [outcome(u) for u in ups] == ["SIGNED_UP", "SIGNED_UP", "WAITING", "WAITING", "WAITING"]
    first_id = ups[0]["data"]["signUpForActivity"]["id"]
    token = resident_token(people[0])
    cancels = await asyncio.gather(*(ask(gateway, token, CANCEL, id=first_id) for _ in range(8)))
    assert Counter(
        b["data"]["cancelActivitySignUp"]["status"] if b.get("data") else codes(b)[0] for b in cancels
    ) == {
        "CANCELLED": 1,
        "ALREADY_CANCELLED": 7,
    }
    mine = [await ask(gateway, resident_token(r), MINE) for r in people[2:]]
    states = [
        (m["data"]["me"]["activities"][0]["status"], m["data"]["me"]["activities"][0]["waitingAhead"])
        for m in mine
    ]
    assert states == [("SIGNED_UP", None), ("WAITING", 0), ("WAITING", 1)]
    assert mine[0]["data"]["me"]["activities"][0]["promotedAt"] is not None
    # somebody else's sign-up is not found, whether it exists or not
    refused(await ask(gateway, token, CANCEL, id=ups[1]["data"]["signUpForActivity"]["id"]), "NOT_FOUND")


async def test_staff_sign_up_a_resident_inside_a_consented_session(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    activity = await create(gateway, places=3)
    resident = fixture("rural_head")
    handle = await my_id(gateway, resident_token(resident))
    refused(await ask(gateway, STAFF, SIGN_UP, activity=activity["id"], resident=handle), "CONSENT_REQUIRED")
    wrong = await start_session(gateway, STAFF, resident, ["APPOINTMENTS"])
    assert not (await consent(gateway, resident_token(resident), wrong["id"])).get("errors")
    refused(await ask(gateway, STAFF, SIGN_UP, activity=activity["id"], resident=handle), "CONSENT_REQUIRED")
    session = await start_session(gateway, staff_token("staff-2", STATION), resident, ["ACTIVITIES"])
    assert not (await consent(gateway, resident_token(resident), session["id"])).get("errors")
    body = await ask(
        gateway, staff_token("staff-2", STATION), SIGN_UP, activity=activity["id"], resident=handle
    )
    assert outcome(body) == "SIGNED_UP"
    mine = await ask(gateway, resident_token(resident), MINE)
    assert [a["activity"]["id"] for a in mine["data"]["me"]["activities"]] == [activity["id"]]
    log = await ask(
        gateway, resident_token(resident), "{ me { accessLog(first: 5) { data purpose actorRole } } }"
    )
    assert {"data": "activities", "purpose": "ACTIVITIES", "actorRole": "staff"} in log["data"]["me"][
        "accessLog"
    ]


async def test_stations_with_activities_are_not_served_from_the_response_cache(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await resident_gateway(make_gateway, response_cache=True)
    activity = await create(gateway, places=4)
    executed = count_executions(gateway)

    def taken(body: dict[str, Any]) -> int:
        return next(
            a["taken"]
            for hit in body["data"]["stations"]
            for a in hit["station"]["activities"]
            if a["id"] == activity["id"]
        )

    assert taken(await gateway.query(STATIONS, {"first": 5})) == 0
    signed = await ask(gateway, resident_token(residents(1)[0]), SIGN_UP, activity=activity["id"])
    assert outcome(signed) == "SIGNED_UP"
    assert taken(await gateway.query(STATIONS, {"first": 5})) == 1  # not yesterday's places
    assert len([q for q in executed if "activities" in q]) == 2


async def test_a_page_of_stations_reads_activities_in_one_query(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    await create(gateway)
    book = gateway.services.activities.book
    calls: list[int] = []
    upcoming = book.upcoming

    async def counted(station_ids: Any, now: Any, per_station: int) -> Any:
        calls.append(len(station_ids))
        return await upcoming(station_ids, now, per_station)

    book.upcoming = counted
    body = await gateway.query(STATIONS, {"first": 20})
    assert not body.get("errors") and len(body["data"]["stations"]) > 1
    assert calls == [len(body["data"]["stations"])]


async def hours_of(http: aiohttp.ClientSession, mocks: RunningMocks, id_number: str) -> int:
    async with http.get(
        f"{mocks.url}/volunteer/csv/hours?ids={id_number}", headers={"X-Api-Key": "zy-dev-key"}
    ) as r:
        rows = (await r.text()).splitlines()
    return int(rows[1].split(",")[1])


async def volunteer_session(gateway: Any, hours: int) -> dict[str, Any]:
    body = await ask(
        gateway,
        resident_token(VOLUNTEER),
        "mutation($input: CreateActivityInput!) { createActivity(input: $input) { id startsAt } }",
        input=offer(starts_in=timedelta(days=1)) | {"endsAt": None} | _ends(hours),
    )
    assert not body.get("errors"), body
    created: dict[str, Any] = body["data"]["createActivity"]
    return created


def _ends(hours: int) -> dict[str, str]:
    start = offer(starts_in=timedelta(days=1))["startsAt"]
    from datetime import datetime

    return {"startsAt": start, "endsAt": (datetime.fromisoformat(start) + timedelta(hours=hours)).isoformat()}


async def test_hours_reported_once_when_retried(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway)
    activity = await volunteer_session(gateway, 2)
    early = await ask(gateway, STAFF, REPORT, id=activity["id"])
    assert codes(early) == ["ACTIVITY_NOT_ENDED"]
    move_clock(gateway, timedelta(days=2))
    refused(await ask(gateway, staff_token("other", "ZD-0002"), REPORT, id=activity["id"]), "FORBIDDEN")
    refused(await ask(gateway, resident_token(VOLUNTEER), REPORT, id=activity["id"]), "FORBIDDEN")
    before = await hours_of(http, mocks, VOLUNTEER.id_number)
    bodies = await asyncio.gather(*(ask(gateway, STAFF, REPORT, id=activity["id"]) for _ in range(3)))
    for body in bodies:
        assert not body.get("errors"), body
        report = body["data"]["reportVolunteerHours"]
        assert (
            report["state"] == "REPORTED"
            and report["hours"] == 2.0
            and report["activity"]["status"] == "HELD"
        )
    assert await hours_of(http, mocks, VOLUNTEER.id_number) == before + 2
    sent = (await admin.paths("volunteer")).get("/volunteer/csv/hours/report", 0)
    again = await ask(gateway, STAFF, REPORT, id=activity["id"])
    assert again["data"]["reportVolunteerHours"]["state"] == "REPORTED"
    assert (await admin.paths("volunteer")).get("/volunteer/csv/hours/report", 0) == sent  # not sent again
    assert await hours_of(http, mocks, VOLUNTEER.id_number) == before + 2
    log = await ask(
        gateway, resident_token(VOLUNTEER), "{ me { accessLog(first: 20) { data departmentId } } }"
    )
    sent_rows = [e for e in log["data"]["me"]["accessLog"] if e["data"] == "volunteer_hours"]
    assert sent_rows and all(e["departmentId"] == "volunteer" for e in sent_rows)


async def test_hours_reported_once_when_the_department_is_down_then_up(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway)
    activity = await volunteer_session(gateway, 3)
    move_clock(gateway, timedelta(days=2))
    before = await hours_of(http, mocks, VOLUNTEER.id_number)
    await admin.fault("volunteer", down=True)
    down = await ask(gateway, STAFF, REPORT, id=activity["id"])
    assert (
        codes(down)[0].startswith("UPSTREAM_")
        and down["errors"][0]["extensions"]["department"] == "volunteer"
    )
    # the department took it but its answer was lost: the retry sends the same report key
    await admin.clear_faults()
    await admin.fault("volunteer", malformed=True)
    lost = await ask(gateway, STAFF, REPORT, id=activity["id"])
    assert codes(lost)[0].startswith("UPSTREAM_")
    await admin.clear_faults()
    assert await hours_of(http, mocks, VOLUNTEER.id_number) == before + 3  # filed, unconfirmed
    body = await ask(gateway, STAFF, REPORT, id=activity["id"])
    assert not body.get("errors"), body
    assert body["data"]["reportVolunteerHours"]["state"] == "REPORTED"
    assert await hours_of(http, mocks, VOLUNTEER.id_number) == before + 3  # filed once


async def test_station_sessions_have_no_hours_to_report(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    activity = await create(gateway)
    move_clock(gateway, timedelta(days=5))
    assert codes(await ask(gateway, STAFF, REPORT, id=activity["id"])) == ["NO_VOLUNTEER_HOST"]
