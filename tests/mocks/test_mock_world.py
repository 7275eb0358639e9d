"""The seeded world: 1,300 stations in Pudong, a realistic catalogue of 19 departments, full determinism."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks, start
from mocks.world import (
    BBOX,
    CATALOGUE,
    DEPARTMENTS,
    FACT_OWNERS,
    FACTS,
    FIRST_DEPARTMENTS,
    OPS,
    SERVICES,
    STATION_COUNT,
    TOWNS,
    Criterion,
    build_world,
)

KEY = {"X-Api-Key": "community-dev-key"}


async def all_station_rows(http: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for page in (1, 2, 3):
        async with http.get(
            f"{url}/community/api/zhandian/list?pageNo={page}&pageSize=500", headers=KEY
        ) as response:
            rows.extend((await response.json())["data"]["rows"])
    return rows


def test_stations_count_bbox_and_towns() -> None:
    world = build_world()
    lat_min, lat_max, lon_min, lon_max = BBOX
    assert len(world.stations) == STATION_COUNT == 1300
    assert len({s.code for s in world.stations}) == 1300
    assert len({s.name for s in world.stations}) == 1300
    assert all(lat_min <= s.lat <= lat_max and lon_min <= s.lon <= lon_max for s in world.stations)
    assert len(TOWNS) == 36
    assert {s.town for s in world.stations} == {t.name_zh for t in TOWNS}
    assert sum(t.name_zh.endswith("街道") for t in TOWNS) == 12
    codes = {s.code for s in world.catalogue}
    for station in world.stations:
        assert 4 <= len(station.services) <= 15
        assert set(station.services) <= codes
        assert station.name.endswith(("党群服务站", "一站式服务站", "社区党群服务中心"))
        assert station.address.startswith("上海市浦东新区")
    by_town = {s.town: s for s in world.stations}
    assert abs(by_town["陆家嘴街道"].lat - 31.236) < 0.02 and abs(by_town["陆家嘴街道"].lon - 121.505) < 0.02
    assert any(s.name.endswith("村党群服务站") for s in world.stations)
    assert any("居民区一站式服务站" in s.name for s in world.stations)


def test_stations_keep_their_places_and_offer_every_department() -> None:
    """Adding residents must not move a station; the services they offer come from all 19."""
    world = build_world()
    first = world.stations[0]
    assert (first.code, first.name, first.address, first.lat, first.lon, first.phone) == (
        "ZD-0001",
        "陆家嘴街道社区党群服务中心",
        "上海市浦东新区崂山路1158号",
        31.242607,
        121.507788,
        "021-64056265",
    )
    offered = {c for s in world.stations for c in s.services}
    assert offered <= {s.code for s in CATALOGUE}
    assert {world.service(c).department for c in offered if world.service(c)} == {d.id for d in DEPARTMENTS}


def test_catalogue_shape() -> None:
    services = build_world().catalogue
    codes = [s.code for s in services]
    assert len(codes) == len(set(codes)) >= 45
    prefixes = {d.id: d.code_prefix for d in DEPARTMENTS}
    for service in services:
        assert service.code.startswith(prefixes[service.department] + "-")
        assert re.fullmatch(r"[A-Z]{2}-\d{3}", service.code)
        assert 1 <= len(service.documents) <= 4
        assert service.fee_fen >= 0 and service.channels and service.processing_days >= 0
        assert service.updated_at.utcoffset() is not None
        assert re.search(r"[\u4e00-\u9fff]", service.name_zh) and re.search(
            r"[\u4e00-\u9fff]", service.description
        )
        assert service.name_en.isascii() and service.name_en[0].isupper()
    assert sum(s.fee_fen > 0 for s in services) in range(2, 9)  # nearly everything is free


def test_all_19_departments_with_their_own_prefixes() -> None:
    assert len(DEPARTMENTS) == 19
    assert len({d.id for d in DEPARTMENTS}) == len({d.code_prefix for d in DEPARTMENTS}) == 19
    per_department = {d.id: len(build_world().services_of(d.id)) for d in DEPARTMENTS}
    assert all(count >= 2 for count in per_department.values()), per_department
    assert all(count <= 4 for d, count in per_department.items() if d not in FIRST_DEPARTMENTS)
    assert sum(per_department.values()) == len(CATALOGUE)
    # the new departments speak plain lowercase English categories
    for service in CATALOGUE:
        if service.department not in FIRST_DEPARTMENTS:
            assert re.fullmatch(r"[a-z_]+", service.category), service.code


def test_world_services_are_the_whole_catalogue() -> None:
    world = build_world()
    assert world.services == world.catalogue == CATALOGUE
    assert len(SERVICES) == 27 and {s.department for s in SERVICES} == set(FIRST_DEPARTMENTS)
    minimum = world.service("MZ-001")
    assert minimum is not None and minimum.name_zh == "最低生活保障申请"
    card = world.service("RS-003")
    assert card is not None and card.fee_fen == 2000


@pytest.mark.parametrize(
    ("department", "keywords"),
    [
        ("utilities", ["水费", "电费", "燃气费"]),
        ("justice", ["法律咨询"]),
        ("health", ["家庭医生"]),
        ("medical-insurance", ["报销"]),
        ("civil-affairs", ["老年综合津贴", "养老服务补贴"]),
        ("community", ["老年人日间照料", "义务理发", "修伞"]),
        ("culture-tourism", ["文化活动", "培训"]),
        ("volunteer", ["书法", "插花"]),
        ("planning-land", ["农村村民建房申请"]),
        ("agriculture", ["农村劳动力就业参保"]),
        ("disabled-persons", ["补贴"]),
        ("commerce", ["买菜"]),
    ],
)
def test_the_news_articles_services_are_there(department: str, keywords: list[str]) -> None:
    names = [s.name_zh + s.description for s in build_world().services_of(department)]
    for keyword in keywords:
        assert any(keyword in name for name in names), (department, keyword)


def test_every_service_has_well_formed_criteria() -> None:
    # the gateway's vocabulary (docs/mock-departments.md): criteria naming anything else are refused
    assert set(FACTS) == {
        "age",
        "birth_date",
        "hukou_district",
        "household_type",
        "income_band",
        "employment_status",
        "disability_level",
        "veteran",
        "medical_insurance",
        "volunteer_hours",
        "land_contract_mu",
        "minimum_allowance",
    }
    assert set(OPS) == {"==", "!=", ">=", "<=", "in"}
    assert set(FACT_OWNERS) == set(FACTS)
    assert {FACT_OWNERS[f] for f in FACTS} <= {d.id for d in DEPARTMENTS}
    open_services = [s.code for s in CATALOGUE if not s.criteria]
    assert 0 < len(open_services) <= len(CATALOGUE) // 3, open_services
    for service in CATALOGUE:
        for criterion in service.criteria:
            assert criterion.fact in FACTS and criterion.op in OPS
            assert re.search(r"[\u4e00-\u9fff]", criterion.text_zh)
    by_code = {s.code: s for s in CATALOGUE}
    assert Criterion("age", ">=", 65, "年满65周岁") in by_code["MZ-003"].criteria
    assert {(c.fact, c.op, c.value) for c in by_code["MZ-001"].criteria} == {
        ("income_band", "in", ("LOW",)),
        ("hukou_district", "==", "浦东新区"),
    }
    assert ("household_type", "==", "rural") in {(c.fact, c.op, c.value) for c in by_code["GH-001"].criteria}
    assert all(
        ("veteran", "==", True) in {(c.fact, c.op, c.value) for c in s.criteria}
        for s in CATALOGUE
        if s.department == "veterans"
    )
    disability = [s for s in CATALOGUE if s.department == "disabled-persons" and s.code != "CL-001"]
    assert all(any(c.fact == "disability_level" and c.op == ">=" for c in s.criteria) for s in disability)


def test_criteria_reject_nonsense_on_construction() -> None:
    with pytest.raises(ValueError, match="int"):
        Criterion("age", ">=", "65", "x")
    with pytest.raises(ValueError, match="tuple"):
        Criterion("income_band", "in", "LOW", "x")
    with pytest.raises(ValueError, match="unknown"):
        Criterion("shoe_size", "==", "42", "x")


def test_criteria_evaluate_like_the_gateway_should() -> None:
    at_least_65 = Criterion("age", ">=", 65, "")
    assert at_least_65.holds_for(65) and not at_least_65.holds_for(64)
    has_level = Criterion("disability_level", ">=", 1, "")
    assert has_level.holds_for(3) and not has_level.holds_for(None)
    low = Criterion("income_band", "in", ("LOW", "LOWER_MIDDLE"), "")
    assert low.holds_for("LOW") and not low.holds_for("MIDDLE")
    assert Criterion("veteran", "==", True, "").holds_for(True)
    assert not Criterion("veteran", "==", True, "").holds_for(False)
    assert Criterion("medical_insurance", "!=", "NONE", "").holds_for("RESIDENT")


def test_same_seed_same_world_other_seed_other_world() -> None:
    assert build_world(7) == build_world(7)
    assert build_world() == build_world(20181125)
    uncached_again = build_world.__wrapped__(7)
    assert uncached_again == build_world(7) and uncached_again is not build_world(7)
    seven, eight = build_world(7), build_world(8)
    assert seven.stations != eight.stations
    assert seven.services == eight.services and seven.catalogue == eight.catalogue
    assert seven.residents != eight.residents
    assert {r.id_number for r in seven.residents}.isdisjoint({r.id_number for r in eight.residents[10:]})
    assert seven.cases != eight.cases
    assert seven.bills != eight.bills


def test_worlds_are_cached_per_seed() -> None:
    """Tests and the mock server build the same world many times: a second build is the same object.
    (How long a build takes is a benchmark's question, not a unit test's.)"""
    first = build_world(123_458)
    assert build_world(123_458) is first
    assert len(first.residents) == 3000 and first.bills


def test_lookups_answer_from_indexes() -> None:
    world = build_world()
    resident = world.residents[1234]
    assert world.resident(resident.id_number) is resident
    assert world.resident_by_social_insurance_no(resident.social_insurance_no) is resident
    assert resident in world.household(resident.household_id)
    assert world.resident("110101190001011234") is None and world.household("HH-000000") == ()
    case = world.cases[500]
    assert world.case(case.ref) is case
    assert case in world.cases_of(case.department) and case in world.cases_of_resident(case.resident)
    assert world.cases_of("tax") == () and world.case("nope") is None
    account = world.accounts[10]
    assert world.account(account.account_no) is account
    assert account in world.accounts_of(account.household_id)
    bills = world.bills_of(account.account_no)
    assert len(bills) == 12 and all(world.bill(b.id) is b for b in bills)
    assert world.services_of("tax") and world.services_of("nope") == ()


async def test_determinism_over_http(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    again = await start(port=0)
    other = await start(port=0, seed=42)
    try:
        first = await all_station_rows(http, mocks.url)
        second = await all_station_rows(http, again.url)
        third = await all_station_rows(http, other.url)
    finally:
        await again.stop()
        await other.stop()
    assert len(first) == len(third) == 1300
    assert first == second
    assert first != third
    assert [r["bianhao"] for r in first] == [r["bianhao"] for r in third]
