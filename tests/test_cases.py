"""A resident's cases across every case-keeping department: normalized status and the department's
own words, history, filters; `case(id)` by `<department>:<reference>`; someone else's case and a case
that does not exist get the same FORBIDDEN."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from mocks.world import Case as WorldCase
from mocks.world import Resident
from tests.access_support import WORLD, ask, codes, fixture, refused, resident_gateway, resident_token
from tests.conftest import Admin, GatewayFactory

CASE_DEPARTMENTS = {"education", "housing", "market-regulation", "medical-insurance", "planning-land"}
CASES = """query($status: [CaseStatus!], $departments: [ID!]) {
  me { cases(status: $status, departments: $departments) {
  id reference status departmentStatus submittedAt updatedAt nextAction expectedCompletion
  department { id } service { id } history { at status departmentStatus note } } } }"""
CASE = "query($id: ID!) { case(id: $id) { id status departmentStatus history { status } } }"


def _with_cases_at_two_departments() -> tuple[Resident, list[WorldCase]]:
    by_resident: dict[str, list[WorldCase]] = defaultdict(list)
    for case in WORLD.cases:
        if case.department in CASE_DEPARTMENTS:
            by_resident[case.resident].append(case)
    number, cases = next((r, cs) for r, cs in by_resident.items() if len({c.department for c in cs}) >= 2)
    return next(r for r in WORLD.residents if r.id_number == number), cases


async def test_cases_from_every_department_in_one_list(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    resident, expected = _with_cases_at_two_departments()
    body = await ask(gateway, resident_token(resident), CASES)
    assert not body.get("errors"), body
    found = {c["id"]: c for c in body["data"]["me"]["cases"]}
    assert set(found) == {f"{c.department}:{c.ref}" for c in expected}
    for case in expected:
        got = found[f"{case.department}:{case.ref}"]
        assert got["status"] == case.status.value and got["reference"] == case.ref
        assert got["department"]["id"] == case.department and got["service"]["id"] == case.service
        assert got["departmentStatus"]  # the department's own word
        assert [h["status"] for h in got["history"]] == [h.status.value for h in case.history]
    updated = [c["updatedAt"] for c in body["data"]["me"]["cases"]]
    assert updated == sorted(updated, reverse=True)


async def test_filters_by_status_and_department(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await resident_gateway(make_gateway)
    resident, expected = _with_cases_at_two_departments()
    token = resident_token(resident)
    department = expected[0].department
    await ask(gateway, None, "{ services(first: 1) { totalCount } }")  # catalogues cached
    before = {d: await admin.requests(d) for d in CASE_DEPARTMENTS}
    body = await ask(gateway, token, CASES, departments=[department])
    assert {c["department"]["id"] for c in body["data"]["me"]["cases"]} == {department}
    others = CASE_DEPARTMENTS - {department}
    assert [await admin.requests(d) for d in others] == [before[d] for d in others]  # not even asked
    status = expected[0].status.value
    body = await ask(gateway, token, CASES, status=[status])
    assert {c["status"] for c in body["data"]["me"]["cases"]} == {status}
    assert len(body["data"]["me"]["cases"]) == sum(1 for c in expected if c.status.value == status)


async def test_one_case_by_id(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    resident, expected = _with_cases_at_two_departments()
    wanted = f"{expected[0].department}:{expected[0].ref}"
    body = await ask(gateway, resident_token(resident), CASE, id=wanted)
    assert not body.get("errors"), body
    assert body["data"]["case"]["id"] == wanted and body["data"]["case"]["status"] == expected[0].status.value


async def test_someone_elses_case_and_a_made_up_case_are_refused_alike(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    _, expected = _with_cases_at_two_departments()
    stranger = resident_token(fixture("senior_pudong"))
    theirs = await ask(gateway, stranger, CASE, id=f"{expected[0].department}:{expected[0].ref}")
    made_up = await ask(gateway, stranger, CASE, id=f"{expected[0].department}:NO-SUCH-CASE")
    unknown_department = await ask(gateway, stranger, CASE, id="nowhere:1")
    for body in (theirs, made_up, unknown_department):
        refused(body, "FORBIDDEN")
        assert not (body["data"] or {}).get("case")
    assert theirs["errors"][0]["message"] == made_up["errors"][0]["message"]
    assert expected[0].ref not in theirs["errors"][0]["message"]


async def test_a_malformed_case_id_is_the_clients_mistake(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    body = await ask(gateway, resident_token(fixture("veteran")), CASE, id="no-colon")
    refused(body, "BAD_USER_INPUT")


async def test_a_failing_department_costs_only_its_cases(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await resident_gateway(make_gateway)
    resident, expected = _with_cases_at_two_departments()
    down = expected[0].department
    await admin.fault(down, down=True)
    body: dict[str, Any] = await ask(gateway, resident_token(resident), CASES)
    ids = {c["id"] for c in body["data"]["me"]["cases"]}
    assert ids == {f"{c.department}:{c.ref}" for c in expected if c.department != down}
    assert any(e["extensions"].get("department") == down for e in body["errors"])
    assert set(codes(body)) <= {"UPSTREAM_UNAVAILABLE", "UPSTREAM_CIRCUIT_OPEN"}
