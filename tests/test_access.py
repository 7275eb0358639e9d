"""Assisted sessions with consent, and the access log: staff see a resident only inside a session the
resident consented to, within its purposes, until it expires, is revoked or ended; every read of
personal data is logged, and only the resident reads their log. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from identity.principal import Role
from identity.tokens import mint
from store.access import AssistedSessionRow
from tests.access_support import (
    SECRET,
    STATION,
    WORLD,
    ask,
    consent,
    fixture,
    my_id,
    refused,
    resident_gateway,
    resident_token,
    staff_token,
    start_session,
)
from tests.conftest import Gateway, GatewayFactory

PROFILE = "query($id: ID!) { resident(id: $id) { id profile { name idNumberMasked } } }"
START = """mutation($n: String!, $p: [AccessPurpose!]!, $m: Int!) {
  startAssistedSession(idNumber: $n, purposes: $p, minutes: $m) { id } }"""
CASES = "query($id: ID!) { resident(id: $id) { cases { id } } }"
LOG = """{ me { accessLog(first: 50) {
  id byYou actorRole station data departmentId purpose channel sessionId } } }"""


async def _consented(
    gateway: Gateway, purposes: list[str], minutes: int = 30
) -> tuple[str, str, dict[str, Any]]:
    resident = fixture("veteran")
    staff = staff_token()
    session = await start_session(gateway, staff, resident, purposes, minutes)
    body = await consent(gateway, resident_token(resident), session["id"])
    assert not body.get("errors"), body
    return staff, session["residentId"], body["data"]["consentToAssistedSession"]


async def test_staff_see_a_resident_only_after_consent_and_within_scope(
    make_gateway: GatewayFactory, database_url: str
) -> None:
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    resident = fixture("veteran")
    staff = staff_token()
    session = await start_session(gateway, staff, resident, ["PROFILE"])
    assert session["status"] == "PENDING" and session["residentId"] == await my_id(
        gateway, resident_token(resident)
    )
    refused(await ask(gateway, staff, PROFILE, id=session["residentId"]), "CONSENT_REQUIRED")

    body = await consent(gateway, resident_token(resident), session["id"])
    assert body["data"]["consentToAssistedSession"]["status"] == "ACTIVE", body
    body = await ask(gateway, staff, PROFILE, id=session["residentId"])
    assert not body.get("errors"), body
    assert body["data"]["resident"]["profile"]["name"] == resident.name
    refused(await ask(gateway, staff, CASES, id=session["residentId"]), "CONSENT_REQUIRED")  # out of scope

    other_staff = staff_token("staff-0002")
    refused(await ask(gateway, other_staff, PROFILE, id=session["residentId"]), "CONSENT_REQUIRED")


async def test_revocation_stops_reads_at_once(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    staff, handle, session = await _consented(gateway, ["PROFILE", "CASES"])
    assert not (await ask(gateway, staff, CASES, id=handle)).get("errors")
    body = await ask(
        gateway,
        resident_token(fixture("veteran")),
        "mutation($id: ID!) { revokeAssistedSession(id: $id) { status } }",
        id=session["id"],
    )
    assert body["data"]["revokeAssistedSession"]["status"] == "REVOKED"
    refused(await ask(gateway, staff, CASES, id=handle), "CONSENT_REQUIRED")
    refused(
        await consent(gateway, resident_token(fixture("veteran")), session["id"]), "FORBIDDEN"
    )  # no revival


async def test_ending_and_expiry_stop_reads(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    staff, handle, session = await _consented(gateway, ["PROFILE"])
    async with gateway.services.sessions.begin() as db:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await db.execute(
            update(AssistedSessionRow).where(AssistedSessionRow.id == session["id"]).values(expires_at=past)
        )
    refused(await ask(gateway, staff, PROFILE, id=handle), "CONSENT_REQUIRED")

    staff, handle, session = await _consented(gateway, ["PROFILE"])
    body = await ask(
        gateway, staff, "mutation($id: ID!) { endAssistedSession(id: $id) { status } }", id=session["id"]
    )
    assert body["data"]["endAssistedSession"]["status"] == "ENDED"
    refused(await ask(gateway, staff, PROFILE, id=handle), "CONSENT_REQUIRED")


async def test_only_the_resident_asked_may_consent(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    session = await start_session(gateway, staff_token(), fixture("veteran"), ["PROFILE"])
    refused(await consent(gateway, resident_token(fixture("senior_pudong")), session["id"]), "FORBIDDEN")
    refused(await consent(gateway, staff_token(), session["id"]), "FORBIDDEN")
    refused(await consent(gateway, None, session["id"]), "UNAUTHENTICATED")
    refused(await ask(gateway, staff_token(), PROFILE, id=session["residentId"]), "CONSENT_REQUIRED")


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"n": "31011519560101123", "p": ["PROFILE"], "m": 30}, "idNumber"),
        ({"n": "310115195601011234", "p": [], "m": 30}, "purposes"),
        ({"n": "310115195601011234", "p": ["ACCESS_LOG"], "m": 30}, "purposes"),
        ({"n": "310115195601011234", "p": ["PROFILE"], "m": 0}, "minutes"),
        ({"n": "310115195601011234", "p": ["PROFILE"], "m": 10_000}, "minutes"),
    ],
)
async def test_a_session_request_is_checked(
    make_gateway: GatewayFactory, variables: dict[str, Any], argument: str
) -> None:
    gateway = await resident_gateway(make_gateway)
    body = await ask(
        gateway,
        staff_token(),
        START,
        **variables,
    )
    refused(body, "BAD_USER_INPUT")
    assert body["errors"][0]["extensions"]["argument"] == argument
    assert variables["n"] not in str(body)


async def test_only_staff_start_sessions(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    query = 'mutation { startAssistedSession(idNumber: "310115195601011234", purposes: [PROFILE]) { id } }'
    refused(await ask(gateway, resident_token(fixture("veteran")), query), "FORBIDDEN")
    refused(await ask(gateway, mint(SECRET, "op", Role.OPERATOR), query), "FORBIDDEN")
    refused(await ask(gateway, None, query), "UNAUTHENTICATED")


async def test_every_read_is_logged_and_only_the_resident_reads_the_log(
    make_gateway: GatewayFactory, database_url: str
) -> None:
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    resident = resident_token(fixture("veteran"))
    await ask(gateway, resident, "{ me { profile { name } cases { id } } }")
    staff, handle, session = await _consented(gateway, ["PROFILE"])
    await ask(gateway, staff, PROFILE, id=handle)
    body = await ask(gateway, resident, LOG)
    assert not body.get("errors"), body
    entries = body["data"]["me"]["accessLog"]
    staff_reads = [e for e in entries if e["actorRole"] == "staff"]
    assert {e["departmentId"] for e in staff_reads} >= {"public-security"}  # every department asked
    for entry in staff_reads:
        assert entry == {
            "id": entry["id"],
            "byYou": False,
            "actorRole": "staff",
            "station": STATION,
            "data": "profile",
            "departmentId": entry["departmentId"],
            "purpose": "PROFILE",
            "channel": "counter",
            "sessionId": session["id"],
        }
    own = {(e["data"], e["departmentId"]) for e in entries if e["byYou"]}
    assert ("profile", "public-security") in own
    assert {d for kind, d in own if kind == "cases"} == {None} or all(kind != "cases" or d for kind, d in own)
    assert all(e["channel"] == "app" for e in entries if e["byYou"] and e["data"] != "access_log")

    # the log is the resident's own: not staff's (even with an active session), not admins'
    refused(
        await ask(gateway, staff, "query($id: ID!) { resident(id: $id) { accessLog { id } } }", id=handle),
        "FORBIDDEN",
    )
    admin = mint(SECRET, "admin-1", Role.DEPT_ADMIN, department="tax")
    refused(await ask(gateway, admin, LOG), "FORBIDDEN")


async def test_every_personal_field_of_resident_writes_the_log(make_gateway: GatewayFactory) -> None:
    """The one place: a Resident field added without going through `_read` fails here."""
    gateway = await resident_gateway(make_gateway)
    token = resident_token(fixture("veteran"))
    [case] = WORLD.cases_of_resident(fixture("veteran").id_number)
    assert case.department == "market-regulation"
    fields = await ask(
        gateway, None, '{ __type(name: "Resident") { fields { name type { kind ofType { kind } } } } }'
    )
    names = [f["name"] for f in fields["data"]["__type"]["fields"] if f["name"] not in ("id",)]
    selections = {
        "profile": "profile { name }",
        "eligibility": 'eligibility(serviceIds: ["MZ-001"]) { outcome }',
        "cases": "cases { id }",
        "case": 'case(id: "CASE") { id }',
        "accessLog": "accessLog { id }",
        "accessLogVerified": "accessLogVerified",
        "assistedSessions": "assistedSessions { id }",
        "bills": "bills { id }",
        "accounts": "accounts { number }",
        "appointments": "appointments { id }",
        "activities": "activities { id }",
        "payments": "payments { id }",
    }
    for name in names:
        assert name in selections, f"Resident.{name}: add it here, and make it log"
        selection = selections[name].replace("CASE", f"market-regulation:{case.ref}")
        before = len((await ask(gateway, token, LOG))["data"]["me"]["accessLog"])
        await ask(gateway, token, f"{{ me {{ {selection} }} }}")
        after = (await ask(gateway, token, LOG))["data"]["me"]["accessLog"]
        assert len(after) > before + 1 or (name == "accessLog" and len(after) > before), name


async def test_no_log_no_data(make_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway = await resident_gateway(make_gateway)

    async def broken(records: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(gateway.services.access.log, "write", broken)
    body = await ask(gateway, resident_token(fixture("veteran")), "{ me { profile { name } } }")
    assert body["data"] is None
    refused(body, "ACCESS_LOG_UNAVAILABLE")


async def test_id_numbers_never_reach_logs(
    make_gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = await resident_gateway(make_gateway)
    resident = fixture("veteran")
    staff, handle, _ = await _consented(gateway, ["PROFILE", "CASES", "ELIGIBILITY"])
    await ask(
        gateway,
        staff,
        "query($id: ID!) { resident(id: $id) { profile { name } cases { id } eligibility { outcome } } }",
        id=handle,
    )
    await ask(gateway, resident_token(resident), "{ me { accessLog { id } } }")
    await ask(gateway, resident_token(fixture("senior_pudong")), PROFILE, id=handle)
    assert resident.id_number not in caplog.text
    async with gateway.services.sessions() as db:
        from sqlalchemy import text

        for table in ("access_log", "assisted_sessions"):
            rows = (await db.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608 - fixed names
            assert rows and resident.id_number not in str(rows)


async def test_the_resident_sees_requests_for_consent_and_staff_end_only_their_own(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await resident_gateway(make_gateway)
    session = await start_session(gateway, staff_token(), fixture("veteran"), ["PROFILE", "CASES"], 45)
    body = await ask(
        gateway,
        resident_token(fixture("veteran")),
        "{ me { assistedSessions { id status station purposes minutes residentId } } }",
    )
    assert body["data"]["me"]["assistedSessions"] == [
        {
            "id": session["id"],
            "status": "PENDING",
            "station": STATION,
            "purposes": ["CASES", "PROFILE"],
            "minutes": 45,
            "residentId": session["residentId"],
        }
    ]
    end = "mutation($id: ID!) { endAssistedSession(id: $id) { status } }"
    refused(await ask(gateway, staff_token("staff-0002"), end, id=session["id"]), "FORBIDDEN")
    body = await ask(gateway, staff_token(), end, id=session["id"])
    assert body["data"]["endAssistedSession"]["status"] == "ENDED"
    refused(await consent(gateway, resident_token(fixture("veteran")), session["id"]), "FORBIDDEN")


async def test_the_access_log_pages_backwards(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(fixture("veteran"))
    for _ in range(3):
        await ask(gateway, token, "{ me { profile { name } } }")
    page = "query($before: ID) { me { accessLog(first: 2, before: $before) { id } } }"
    first = [int(e["id"]) for e in (await ask(gateway, token, page))["data"]["me"]["accessLog"]]
    second = await ask(gateway, token, page, before=str(first[-1]))
    later = [int(e["id"]) for e in second["data"]["me"]["accessLog"]]
    assert first == sorted(first, reverse=True) and later and max(later) < min(first)
    refused(await ask(gateway, token, page, before="not-a-number"), "BAD_USER_INPUT")
    refused(await ask(gateway, token, "{ me { accessLog(first: 1000) { id } } }"), "BAD_USER_INPUT")
