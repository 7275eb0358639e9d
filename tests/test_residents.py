"""The resident view: `me`, the profile as the departments report it, the masked ID number, and the
sealed `Resident.id`."""

from __future__ import annotations

from datetime import date

from mocks.world import REFERENCE_DAY
from tests.access_support import WORLD, ask, codes, fixture, my_id, resident_gateway, resident_token
from tests.conftest import DEPARTMENT_IDS, Admin, GatewayFactory

DEPARTMENTS = sorted(DEPARTMENT_IDS)

PROFILE = """{ me { id profile { name idNumberMasked birthDate age hukouDistrict householdId householdType
  address sources { fact departmentId fetchedAt unknown } } } }"""


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


async def test_me_shows_the_profile_as_the_household_register_has_it(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    senior = fixture("senior_pudong")
    body = await ask(gateway, resident_token(senior), PROFILE)
    assert not body.get("errors"), body
    me = body["data"]["me"]
    profile = me["profile"]
    assert profile["name"] == senior.name
    assert profile["address"] == senior.address
    assert profile["birthDate"] == senior.birth_date.isoformat()
    assert profile["hukouDistrict"] == senior.hukou_district
    assert profile["householdId"] == senior.household_id
    assert profile["householdType"] == senior.household_type
    assert profile["age"] in (_age(senior.birth_date, REFERENCE_DAY), _age(senior.birth_date, date.today()))
    number = senior.id_number
    assert profile["idNumberMasked"] == number[:3] + "*" * 11 + number[-4:]
    sources = {s["fact"]: s for s in profile["sources"]}
    assert sources["name"]["departmentId"] == "public-security" and sources["name"]["fetchedAt"]
    assert number not in str(body) and me["id"] != number


async def test_resident_ids_are_stable_and_opaque(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    senior, veteran = fixture("senior_pudong"), fixture("veteran")
    first, again = await my_id(gateway, resident_token(senior)), await my_id(gateway, resident_token(senior))
    other = await my_id(gateway, resident_token(veteran))
    assert first == again != other
    assert senior.id_number not in first and senior.id_number[-4:] not in first


async def test_the_profile_of_a_failing_register_is_unknown_not_invented(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await resident_gateway(make_gateway)
    await admin.fault("public-security", down=True)
    body = await ask(gateway, resident_token(fixture("veteran")), PROFILE)
    profile = body["data"]["me"]["profile"]
    assert profile["name"] is None and profile["address"] is None
    assert "public-security" in str([s["unknown"] for s in profile["sources"]])
    assert "UPSTREAM_UNAVAILABLE" in codes(body) or "UPSTREAM_CIRCUIT_OPEN" in codes(body)


#: One SOAP endpoint serving several kinds the home screen asks for: civil-affairs' facts and cases.
SHARED_PATHS = {"/civil-affairs/soap": 2}


async def test_the_home_screen_is_one_query_asking_each_department_once_per_kind(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    from bench.home import HOME

    gateway = await resident_gateway(make_gateway)
    public = "{ services { totalCount } stations(near: {latitude: 31.2, longitude: 121.5}) { walkMinutes } }"
    await ask(gateway, None, public)  # catalogues and stations cached, as usual
    senior = fixture("senior_pudong")
    before = {d: await admin.paths(d) for d in DEPARTMENTS}
    body = await ask(gateway, resident_token(senior), HOME)
    assert not body.get("errors"), body
    me = body["data"]["me"]
    assert me["profile"]["name"] == senior.name
    assert len(me["eligibility"]) == len(WORLD.services)
    assert {c["status"] for c in me["cases"]} <= {"SUBMITTED", "ACCEPTED", "IN_REVIEW", "NEEDS_INFO"}
    assert me["bills"] and all(isinstance(b["amountFen"], int) for b in me["bills"])
    assert me["appointments"] == []
    for department in DEPARTMENTS:
        grown = {p: n - before[department].get(p, 0) for p, n in (await admin.paths(department)).items()}
        assert all(n <= SHARED_PATHS.get(p, 1) for p, n in grown.items() if "/bills" not in p), (
            department,
            grown,
        )
