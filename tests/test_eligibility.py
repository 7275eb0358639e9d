"""Eligibility through the gateway: criteria from the catalogue, facts from the departments that own
them, each criterion explained; a fact that could not be fetched is UNKNOWN, never INELIGIBLE; and
forty services cost each department at most one call."""

from __future__ import annotations

from typing import Any

import pytest

from mocks.people import is_eligible
from tests.access_support import WORLD, ask, codes, fixture, resident_gateway, resident_token
from tests.conftest import Admin, GatewayFactory

ELIGIBILITY = """query($ids: [ID!]) { me { eligibility(serviceIds: $ids) {
  service { id } outcome missingDocuments
  nextStep { action text channel station { id name } }
  criteria { fact op expected text result valueUsed fetchedAt reason sourceDepartment { id } }
} } }"""
OWNERS = {"employment_status": "hrss", "minimum_allowance": "civil-affairs"}  # the last two facts served


def _by_service(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["service"]["id"]: e for e in body["data"]["me"]["eligibility"]}


@pytest.mark.parametrize(
    "name", ["senior_pudong", "rural_head", "disabled_adult", "veteran", "huangpu_senior"]
)
async def test_outcomes_agree_with_the_departments_rules(make_gateway: GatewayFactory, name: str) -> None:
    gateway = await resident_gateway(make_gateway)
    resident = fixture(name)
    body = await ask(gateway, resident_token(resident), ELIGIBILITY)
    assert not body.get("errors"), body
    found = _by_service(body)
    assert set(found) == {s.code for s in WORLD.services}
    for service in WORLD.services:
        outcome = found[service.code]["outcome"]
        truth = is_eligible(resident, service)
        assert outcome == ("ELIGIBLE" if truth else "INELIGIBLE"), (service.code, found[service.code])


async def test_every_criterion_says_what_was_checked_with_what_from_where(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await resident_gateway(make_gateway)
    body = await ask(gateway, resident_token(fixture("senior_pudong")), ELIGIBILITY)
    for entry in body["data"]["me"]["eligibility"]:
        for criterion in entry["criteria"]:
            assert criterion["fact"] and criterion["op"] and criterion["reason"]
            if criterion["result"] == "UNKNOWN":
                assert criterion["fetchedAt"] is None
            else:
                assert criterion["sourceDepartment"]["id"] and criterion["fetchedAt"]
            if criterion["fact"] == "age":
                assert criterion["sourceDepartment"]["id"] == "public-security"
                assert criterion["valueUsed"] == "70"
            if criterion["fact"] in OWNERS:
                assert criterion["sourceDepartment"]["id"] == OWNERS[criterion["fact"]]
                assert criterion["valueUsed"] == "RETIRED" or criterion["fact"] != "employment_status"


async def test_eligible_services_list_documents_and_where_to_go(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    body = await ask(gateway, resident_token(fixture("senior_pudong")), ELIGIBILITY)
    services = {s.code: s for s in WORLD.services}
    eligible = [e for e in body["data"]["me"]["eligibility"] if e["outcome"] == "ELIGIBLE"]
    assert eligible
    for entry in eligible:
        assert entry["missingDocuments"] == list(services[entry["service"]["id"]].documents)
        assert entry["nextStep"]["action"] in ("APPLY_ONLINE", "VISIT_STATION")
    ineligible = [e for e in body["data"]["me"]["eligibility"] if e["outcome"] == "INELIGIBLE"]
    assert ineligible and all(e["nextStep"]["action"] == "NONE" for e in ineligible)


async def test_a_department_that_fails_makes_its_facts_unknown_never_ineligible(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway)
    resident = fixture("senior_pudong")
    await admin.fault("public-security", down=True)  # owns age, hukou district, household type
    body = await ask(gateway, resident_token(resident), ELIGIBILITY)
    assert {"UPSTREAM_UNAVAILABLE", "UPSTREAM_CIRCUIT_OPEN"} & set(codes(body))
    found = _by_service(body)
    for service in WORLD.services:
        facts = {c.fact for c in service.criteria}
        if service.department == "public-security":  # its catalogue is down too: not listed
            assert service.code not in found
            continue
        entry = found[service.code]
        if is_eligible(resident, service):
            assert entry["outcome"] != "INELIGIBLE", service.code
        for criterion in entry["criteria"]:
            if criterion["fact"] in ("age", "hukou_district", "household_type"):
                assert criterion["result"] == "UNKNOWN" and "public-security" in criterion["reason"]
        if facts and facts <= {"age", "hukou_district", "household_type"}:
            assert entry["outcome"] == "UNKNOWN", service.code


async def test_forty_services_cost_each_department_at_most_one_call(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway)
    ids = sorted(s.code for s in WORLD.services if s.criteria)[:40]
    assert len(ids) == 40
    warm = await ask(
        gateway,
        None,
        "{ services(first: 1) { totalCount } "
        "stations(near: {latitude: 31.23, longitude: 121.5}) { walkMinutes } }",
    )
    assert not warm.get("errors"), warm
    token = resident_token(fixture("rural_head"))
    await ask(gateway, token, "{ me { id } }")
    await admin.clear_faults()
    await gateway.client.post("/graphql")  # nothing
    before = {d: await admin.requests(d) for d in _departments(WORLD)}
    body = await ask(gateway, token, ELIGIBILITY, ids=ids)
    assert not body.get("errors"), body
    assert len(body["data"]["me"]["eligibility"]) == 40
    for department, count in before.items():
        calls = await admin.requests(department) - count
        assert calls <= 1, (department, calls, await admin.paths(department))


def _departments(world: Any) -> set[str]:
    return {s.department for s in world.services}


async def test_near_names_the_nearest_station_offering_a_station_only_service(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await resident_gateway(make_gateway)
    resident = fixture("senior_pudong")
    station_only = [
        s
        for s in WORLD.services
        if all(c.value in ("window", "kiosk") for c in s.channels) and is_eligible(resident, s)
    ]
    assert station_only
    service = station_only[0]
    query = """query($ids: [ID!], $near: GeoPointInput) { me { eligibility(serviceIds: $ids, near: $near) {
      outcome nextStep { action station { id services { id } } walkMinutes } } } }"""
    body = await ask(
        gateway,
        resident_token(resident),
        query,
        ids=[service.code],
        near={"latitude": 31.23, "longitude": 121.5},
    )
    [entry] = body["data"]["me"]["eligibility"]
    step = entry["nextStep"]
    assert step["action"] == "VISIT_STATION" and step["walkMinutes"] is not None
    assert service.code in {s["id"] for s in step["station"]["services"]}
    offering = [s for s in WORLD.stations if service.code in s.services]

    def metres(s: Any) -> float:
        return float((s.lat - 31.23) ** 2 + ((s.lon - 121.5) * 0.855) ** 2)

    assert step["station"]["id"] == min(offering, key=metres).code
    bad = await ask(
        gateway, resident_token(resident), query, ids=[service.code], near={"latitude": 91, "longitude": 0}
    )
    assert codes(bad) == ["BAD_USER_INPUT"]
