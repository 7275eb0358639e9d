"""Who may listen to a resident's cases: staff only inside a consented assisted session, and only while
it holds; nobody through another resident's id; a token that expires ends the stream. Every read the
subscription makes is in the resident's access log."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from identity.principal import Role
from identity.tokens import mint
from mocks.server import RunningMocks
from resolvers import case_updates
from tests.access_support import (
    SECRET,
    ask,
    consent,
    fixture,
    my_id,
    resident_token,
    staff_token,
    start_session,
)
from tests.conftest import Gateway, GatewayFactory
from tests.live_support import change_status, connect, housing_case, served, until
from tests.test_case_updates import FAST_POLL, assert_refused, update_of, watching

pytestmark = pytest.mark.asyncio(loop_scope="session")

NAME = "non_pudong_hukou"


async def consented_session(gateway: Gateway, staff: str, purposes: list[str]) -> tuple[str, str]:
    """(session id, the resident's Resident.id) of a session the resident consented to."""
    resident = fixture(NAME)
    session = await start_session(gateway, staff, resident, purposes)
    answer = await consent(gateway, resident_token(resident), session["id"])
    assert not answer.get("errors"), answer
    return str(session["id"]), str(session["residentId"])


async def test_staff_in_a_consented_session_hear_the_residents_case_and_it_is_logged(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET, **FAST_POLL)
    staff = staff_token()
    session_id, resident_id = await consented_session(gateway, staff, ["CASES"])
    case = housing_case(NAME)
    async with served(gateway.app) as url, connect(url, staff) as ws:
        await ws.subscribe(ids=[f"housing:{case.ref}"], resident=resident_id)
        await until(watching(gateway, case.resident))
        await change_status(http, mocks.url, "housing", case.ref, "APPROVED")
        update = update_of(await ws.next_payload())
    assert update["case"]["status"] == "APPROVED"
    log = await ask(
        gateway,
        resident_token(fixture(NAME)),
        "{ me { accessLog(first: 20) { byYou actorRole data departmentId purpose sessionId } } }",
    )
    entries = log["data"]["me"]["accessLog"]
    by_staff = [e for e in entries if e["sessionId"] == session_id and e["departmentId"] == "housing"]
    # the baseline read and the update each wrote a row, on behalf of the resident, purpose CASES
    assert len(by_staff) >= 2, entries
    assert {(e["actorRole"], e["data"], e["purpose"], e["byYou"]) for e in by_staff} == {
        ("staff", "cases", "CASES", False)
    }


async def test_staff_without_consent_or_outside_its_purpose_are_refused(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    staff = staff_token()
    resident = fixture(NAME)
    asked = await start_session(gateway, staff, resident, ["CASES"])  # not consented yet
    _, profile_only = await consented_session(gateway, staff_token("staff-0002"), ["PROFILE"])
    async with served(gateway.app) as url:
        async with connect(url, staff) as ws:
            await ws.subscribe(resident=asked["residentId"])
            assert_refused(await ws.next_payload(), "CONSENT_REQUIRED")
        async with connect(url, staff_token("staff-0002")) as ws:
            await ws.subscribe(resident=profile_only)
            assert_refused(await ws.next_payload(), "CONSENT_REQUIRED")
        async with connect(url, staff) as ws:
            await ws.subscribe()  # staff have no cases of their own
            assert_refused(await ws.next_payload(), "FORBIDDEN")


async def test_a_resident_cannot_listen_through_another_residents_id(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    other = await my_id(gateway, resident_token(fixture(NAME)))
    async with served(gateway.app) as url, connect(url, resident_token(fixture("senior_pudong"))) as ws:
        await ws.subscribe(resident=other)
        assert_refused(await ws.next_payload(), "FORBIDDEN")


async def test_admins_and_operators_hear_no_cases(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    tokens = [
        mint(SECRET, "op-1", Role.OPERATOR),
        mint(SECRET, "adm-1", Role.DEPT_ADMIN, department="housing"),
    ]
    async with served(gateway.app) as url:
        for token in tokens:
            async with connect(url, token) as ws:
                await ws.subscribe()
                assert_refused(await ws.next_payload(), "FORBIDDEN")


async def test_revoked_consent_ends_the_stream_before_the_next_update(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET, **FAST_POLL)
    staff = staff_token()
    session_id, resident_id = await consented_session(gateway, staff, ["CASES"])
    case = housing_case(NAME)
    async with served(gateway.app) as url, connect(url, staff) as ws:
        await ws.subscribe(ids=[f"housing:{case.ref}"], resident=resident_id)
        await until(watching(gateway, case.resident))
        revoked = await ask(
            gateway,
            resident_token(fixture(NAME)),
            "mutation($id: ID!) { revokeAssistedSession(id: $id) { status } }",
            id=session_id,
        )
        assert not revoked.get("errors"), revoked
        await change_status(http, mocks.url, "housing", case.ref, "APPROVED")
        message = await ws.next_payload()
        assert await ws.next_payload() == {"id": "1", "type": "complete"}
        await ws.subscribe(op="2", resident=resident_id)  # the same connection: decided afresh
        again = await ws.next_payload()
    assert_refused(message, "CONSENT_REQUIRED")
    assert "APPROVED" not in str(message)
    assert_refused(again, "CONSENT_REQUIRED")


async def test_an_expired_token_ends_the_stream_before_the_next_update(
    make_gateway: GatewayFactory,
    mocks: RunningMocks,
    http: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET, **FAST_POLL)
    case = housing_case(NAME)
    token = mint(SECRET, fixture(NAME).id_number, Role.RESIDENT, ttl_s=60)
    async with served(gateway.app) as url, connect(url, token) as ws:
        await ws.subscribe(ids=[f"housing:{case.ref}"])
        await until(watching(gateway, case.resident))
        later = time.time() + 120  # the token expired a minute ago, as the stream's clock sees it
        monkeypatch.setattr(case_updates, "wall_clock", lambda: later)
        await change_status(http, mocks.url, "housing", case.ref, "APPROVED")
        message: dict[str, Any] = await ws.next_payload()
    assert_refused(message, "UNAUTHENTICATED")


async def test_a_quiet_stream_ends_when_its_token_expires(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    short = mint(SECRET, fixture(NAME).id_number, Role.RESIDENT, ttl_s=1)
    async with served(gateway.app) as url, connect(url, short) as ws:
        await ws.subscribe()
        message = await ws.next_payload(timeout=10)  # nothing changes: the expiry alone ends it
        assert await ws.next_payload() == {"id": "1", "type": "complete"}
    assert_refused(message, "UNAUTHENTICATED")


async def test_a_quiet_stream_ends_soon_after_consent_is_revoked(
    make_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(case_updates, "RECHECK_S", 0.3)  # 60 s in service
    gateway = await make_gateway(jwt_secret=SECRET)
    staff = staff_token()
    session_id, resident_id = await consented_session(gateway, staff, ["CASES"])
    async with served(gateway.app) as url, connect(url, staff) as ws:
        await ws.subscribe(resident=resident_id)
        await until(watching(gateway, fixture(NAME).id_number))
        with pytest.raises(TimeoutError):  # allowed: the stream stays open
            await ws.next_payload(timeout=0.8)
        revoked = await ask(
            gateway,
            resident_token(fixture(NAME)),
            "mutation($id: ID!) { revokeAssistedSession(id: $id) { status } }",
            id=session_id,
        )
        assert not revoked.get("errors"), revoked
        message = await ws.next_payload(timeout=5)
    assert_refused(message, "CONSENT_REQUIRED")
