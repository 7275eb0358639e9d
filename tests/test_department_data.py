"""Issue 16, item 4, through the gateway over the real mock departments: hrss and civil-affairs report
their facts, civil-affairs, hrss and health serve their cases, and hrss and planning-land take
applications written by station staff for a villager inside a consented session.

Done when: with every department answering, no eligibility criterion of the catalogue is UNKNOWN for
any fixture resident, and every outcome is the one the departments' own rules give."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pytest

from connectors.applications import Application
from mocks.people import is_eligible
from mocks.world import FIXTURE_RESIDENTS, Resident
from tests.access_support import (
    WORLD,
    ask,
    consent,
    fixture,
    refused,
    resident_gateway,
    resident_token,
    staff_token,
)
from tests.access_support import start_session as start_assisted_session
from tests.conftest import Admin, Connect, GatewayFactory
from tests.mocks.support import unknown_id

ELIGIBILITY = """{ me { eligibility {
  service { id } outcome criteria { fact result valueUsed reason sourceDepartment { id } }
} } }"""
CASES = """query($d: ID!) { me { cases(departments: [$d]) {
  id reference status departmentStatus nextAction expectedCompletion service { id }
  history { at status departmentStatus note }
} } }"""
SUBMIT = """mutation($in: SubmitApplicationInput!) {
  submitApplication(input: $in) { id reference status departmentStatus service { id } department { id } }
}"""
#: Each department's own word for every canonical status (the mocks' vocabularies).
WORDS = {
    "civil-affairs": {
        "SUBMITTED": "PENDING",
        "ACCEPTED": "REGISTERED",
        "IN_REVIEW": "INVESTIGATING",
        "NEEDS_INFO": "SUPPLEMENT",
        "APPROVED": "GRANTED",
        "REJECTED": "DENIED",
        "COMPLETED": "CLOSED",
        "WITHDRAWN": "REVOKED",
    },
    "hrss": {
        "SUBMITTED": "已申报",
        "ACCEPTED": "已受理",
        "IN_REVIEW": "核定中",
        "NEEDS_INFO": "待补件",
        "APPROVED": "核准",
        "REJECTED": "不予核准",
        "COMPLETED": "办结",
        "WITHDRAWN": "撤件",
    },
    "health": {
        "SUBMITTED": "pending",
        "ACCEPTED": "accepted",
        "IN_REVIEW": "inProgress",
        "NEEDS_INFO": "awaitingDocuments",
        "APPROVED": "approved",
        "REJECTED": "declined",
        "COMPLETED": "closed",
        "WITHDRAWN": "cancelled",
    },
}


def documents_of(service: str) -> list[str]:
    """The documents the catalogue says the service needs."""
    found = WORLD.service(service)
    assert found is not None
    return list(found.documents)


def application(service: str, key: str | None = None) -> dict[str, Any]:
    return {
        "serviceId": service,
        "idempotencyKey": key or secrets.token_hex(10),
        "documents": documents_of(service),
        "answers": [
            {"name": "联系电话", "value": "13800000000"},
            {"name": "备注", "value": "代办，见附件|第2页"},
        ],
    }


def busiest(department: str) -> Resident:
    """The resident (not a fixture) with the most cases at the department."""
    counts: dict[str, int] = {}
    for case in WORLD.cases_of(department):
        counts[case.resident] = counts.get(case.resident, 0) + 1
    resident = WORLD.resident(max(counts, key=lambda r: counts[r]))
    assert resident is not None
    return resident


# -- facts ---------------------------------------------------------------------------------------


async def test_no_criterion_is_unknown_when_every_department_answers(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    unknown: list[tuple[str, str, str, str]] = []
    wrong: list[tuple[str, str, str]] = []
    counted = 0
    for name, index in FIXTURE_RESIDENTS.items():
        resident = WORLD.residents[index]
        body = await ask(gateway, resident_token(resident), ELIGIBILITY)
        assert not body.get("errors"), (name, body.get("errors"))
        found: dict[str, dict[str, Any]] = {e["service"]["id"]: e for e in body["data"]["me"]["eligibility"]}
        assert set(found) == {s.code for s in WORLD.catalogue}, name
        for service in WORLD.catalogue:
            entry = found[service.code]
            for criterion in entry["criteria"]:
                counted += 1
                if criterion["result"] not in ("PASS", "FAIL"):
                    unknown.append((name, service.code, criterion["fact"], criterion["reason"]))
                if criterion["fact"] == "employment_status":
                    assert criterion["sourceDepartment"] == {"id": "hrss"}
                    assert criterion["valueUsed"] == resident.employment_status, name
            expected = "ELIGIBLE" if is_eligible(resident, service) else "INELIGIBLE"
            if entry["outcome"] != expected:
                wrong.append((name, service.code, entry["outcome"]))
    assert counted == len(FIXTURE_RESIDENTS) * sum(len(s.criteria) for s in WORLD.catalogue)
    assert not unknown, f"{len(unknown)} of {counted} criteria UNKNOWN: {unknown[:10]}"
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("department", "fact", "batch_size"),
    [("civil-affairs", "minimum_allowance", 100), ("hrss", "employment_status", 50)],
)
async def test_facts_come_in_batches_in_the_departments_words(
    connect: Connect, admin: Admin, department: str, fact: str, batch_size: int
) -> None:
    """Every resident's fact as the world has it, one call per batch; a resident the department does
    not know is answered (no record), not a failure."""
    residents = WORLD.residents[: batch_size + 10]
    stranger = unknown_id()
    answers = await connect(department).adapter.facts([*(r.id_number for r in residents), stranger])
    for resident in residents:
        answer = answers[resident.id_number]
        assert not isinstance(answer, Exception), answer
        [record] = answer.value.records
        assert getattr(record, fact) == getattr(resident, fact), resident.id_number
    missing = answers[stranger]
    assert not isinstance(missing, Exception) and missing.value.records == ()
    facts_path = {"civil-affairs": "/civil-affairs/soap", "hrss": "/hrss/export/employment.csv"}[department]
    assert (await admin.paths(department)).get(facts_path) == 2  # two batches
    assert {r.minimum_allowance for r in residents} == {True, False} or fact != "minimum_allowance"


# -- cases ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("department", sorted(WORDS))
async def test_cases_arrive_in_the_departments_words(make_gateway: GatewayFactory, department: str) -> None:
    gateway = await resident_gateway(make_gateway)
    resident = busiest(department)
    body = await ask(gateway, resident_token(resident), CASES, d=department)
    assert not body.get("errors"), body
    got = {c["reference"]: c for c in body["data"]["me"]["cases"]}
    expected = [c for c in WORLD.cases_of_resident(resident.id_number) if c.department == department]
    assert len(expected) >= 2 and set(got) == {c.ref for c in expected}
    for case in expected:
        node = got[case.ref]
        assert node["id"] == f"{department}:{case.ref}" and node["service"] == {"id": case.service}
        assert node["status"] == case.status.value
        assert node["departmentStatus"] == WORDS[department][case.status.value]
        assert node["nextAction"] == case.next_action
        assert (node["expectedCompletion"] is None) == (case.expected_completion is None)
        history = [(datetime.fromisoformat(e["at"]), e["status"], e["note"]) for e in node["history"]]
        assert history == [(e.at, e.status.value, e.note_zh) for e in case.history]
        assert [e["departmentStatus"] for e in node["history"]] == [
            WORDS[department][e.status.value] for e in case.history
        ]


async def test_every_status_of_every_new_case_department_maps(connect: Connect) -> None:
    """All statuses occur at each department: every word maps back onto the canonical status."""
    for department, words in WORDS.items():
        adapter = connect(department).adapter
        seen: set[str] = set()
        for case in WORLD.cases_of(department):
            if case.status.value in seen:
                continue
            [record] = [r for r in (await adapter.cases(case.resident)).value.records if r.id == case.ref]
            assert (record.status, record.department_status) == (case.status.value, words[case.status.value])
            seen.add(case.status.value)
        assert seen == set(words), department


# -- applications written by station staff -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "service", "department"),
    [("rural_head", "GH-001", "planning-land"), ("rural_spouse", "RS-005", "hrss")],
)
async def test_staff_write_a_villagers_application_in_a_consented_session(
    make_gateway: GatewayFactory, connect: Connect, name: str, service: str, department: str
) -> None:
    """A village house (planning-land) or an employment application (hrss), written at the station."""
    gateway = await resident_gateway(make_gateway)
    villager = fixture(name)
    assert villager.household_type == "rural" and is_eligible(villager, WORLD.service(service))  # type: ignore[arg-type]
    staff = staff_token()
    session = await start_assisted_session(gateway, staff, villager, ["APPLICATIONS", "CASES"])
    values = application(service) | {"residentId": session["residentId"]}
    before = [c.id for c in (await connect(department).adapter.cases(villager.id_number)).value.records]
    refused(await ask(gateway, staff, SUBMIT, **{"in": values}), "CONSENT_REQUIRED")  # not yet consented
    after_refusal = [
        c.id for c in (await connect(department).adapter.cases(villager.id_number)).value.records
    ]
    assert after_refusal == before  # nothing reached the department
    assert not (await consent(gateway, resident_token(villager), session["id"])).get("errors")
    body = await ask(gateway, staff, SUBMIT, **{"in": values})
    assert not body.get("errors"), body
    case = body["data"]["submitApplication"]
    assert case["status"] == "SUBMITTED" and case["department"] == {"id": department}
    assert case["service"] == {"id": service}
    again = await ask(gateway, staff, SUBMIT, **{"in": values})  # the staff member's retry
    assert again["data"]["submitApplication"]["id"] == case["id"]
    mine = await ask(gateway, resident_token(villager), CASES, d=department)
    listed = [c for c in mine["data"]["me"]["cases"] if c["id"] == case["id"]]
    assert [c["status"] for c in listed] == ["SUBMITTED"]
    assert listed[0]["history"][0]["status"] == "SUBMITTED"
    staff_view = await ask(
        gateway,
        staff,
        "query($r: ID!, $d: ID!) { resident(id: $r) { cases(departments: [$d]) { id } } }",
        r=session["residentId"],
        d=department,
    )
    assert case["id"] in [c["id"] for c in staff_view["data"]["resident"]["cases"]]
    log = await ask(
        gateway, resident_token(villager), "{ me { accessLog(first: 50) { data actorRole purpose } } }"
    )
    assert {"data": "applications", "actorRole": "staff", "purpose": "APPLICATIONS"} in log["data"]["me"][
        "accessLog"
    ]


async def test_unemployment_insurance_retried_is_one_case_at_hrss(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(fixture("unemployed"))
    values = application("RS-001")
    first = await ask(gateway, token, SUBMIT, **{"in": values})
    again = await ask(gateway, token, SUBMIT, **{"in": values})
    assert not first.get("errors") and not again.get("errors"), (first, again)
    case = first["data"]["submitApplication"]
    assert again["data"]["submitApplication"] == case
    assert case["departmentStatus"] == "已申报" and case["reference"].startswith("RS-")
    assert (await admin.paths("hrss")).get("/hrss/api/shenbao") == 1
    mine = await ask(gateway, token, CASES, d="hrss")
    assert [c["id"] for c in mine["data"]["me"]["cases"]].count(case["id"]) == 1


async def test_hrss_itself_answers_a_repeated_serial_number_with_the_same_case(
    connect: Connect, admin: Admin
) -> None:
    """The gateway's retries after a lost answer rely on the department's own idempotency (ywlsh)."""
    adapter = connect("hrss").adapter
    villager = fixture("rural_spouse")
    sent = Application(
        villager.id_number,
        "RS-005",
        secrets.token_hex(12),
        tuple(documents_of("RS-005")),
        {"联系电话": "13800000000", "说明": '含"引号"&符号|竖线'},
    )
    first = await adapter.submit(sent)
    second = await adapter.submit(sent)
    assert (first.id, first.status) == (second.id, "SUBMITTED")
    assert (await admin.paths("hrss")).get("/hrss/api/shenbao") == 2
    listed = [c.id for c in (await adapter.cases(villager.id_number)).value.records]
    assert listed.count(first.id) == 1
