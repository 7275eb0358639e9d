"""The seeded residents: valid ID numbers, realistic households and ages, consistent department facts."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date

import pytest

from mocks.world import (
    FIXTURE_RESIDENTS,
    REFERENCE_DAY,
    RESIDENT_COUNT,
    TOWNS,
    Resident,
    age_on,
    build_world,
    facts_of,
    id_birth_date,
    id_check_char,
    id_gender,
    is_eligible,
    is_valid_id_number,
)

WORLD = build_world()
RESIDENTS = WORLD.residents


def fixture(name: str) -> Resident:
    return RESIDENTS[FIXTURE_RESIDENTS[name]]


def eligible(resident: Resident, code: str) -> bool:
    service = WORLD.service(code)
    assert service is not None, code
    return is_eligible(resident, service)


def test_check_character_follows_gb_11643() -> None:
    # the standard's own example, and one ending in X
    assert id_check_char("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("11010519491331002X")  # month 13
    assert not is_valid_id_number("1101051949123100")


def test_id_numbers_valid_unique_and_consistent() -> None:
    assert len(RESIDENTS) == RESIDENT_COUNT == 3000
    assert len({r.id_number for r in RESIDENTS}) == 3000
    for r in RESIDENTS:
        assert re.fullmatch(r"\d{17}[\dX]", r.id_number), r.id_number
        assert is_valid_id_number(r.id_number), r.id_number
        assert id_birth_date(r.id_number) == r.birth_date
        assert id_gender(r.id_number) == r.gender
    areas = Counter(r.id_number[:6] for r in RESIDENTS)
    assert areas.most_common(1)[0][0] == "310115" and areas["310115"] > 0.7 * len(RESIDENTS)
    assert {"310101", "320102", "340102"} <= set(areas)


def test_other_numbers_and_names() -> None:
    assert len({r.social_insurance_no for r in RESIDENTS}) == 3000
    towns = {t.name_zh for t in TOWNS}
    for r in RESIDENTS:
        assert re.fullmatch(r"SI\d{10}", r.social_insurance_no)
        assert re.fullmatch(r"1[358]\d{9}", r.phone)
        assert re.fullmatch(r"HH-\d{6}", r.household_id)
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", r.name)
        assert r.town in towns and r.address.startswith("上海市浦东新区")
        assert r.hukou_district in ("浦东新区", "黄浦区", "外省市")
    assert Counter(r.hukou_district for r in RESIDENTS).most_common(1)[0][0] == "浦东新区"


def test_age_spread_is_a_pyramid_from_0_to_100() -> None:
    ages = [age_on(r, REFERENCE_DAY) for r in RESIDENTS]
    assert min(ages) == 0 and max(ages) >= 95 and max(ages) <= 100
    share = {
        "children": sum(a < 18 for a in ages) / len(ages),
        "working": sum(18 <= a < 60 for a in ages) / len(ages),
        "seniors": sum(a >= 60 for a in ages) / len(ages),
        "oldest": sum(a >= 80 for a in ages) / len(ages),
    }
    assert 0.08 < share["children"] < 0.25, share
    assert 0.45 < share["working"] < 0.75, share
    assert 0.15 < share["seniors"] < 0.40, share
    assert 0.01 < share["oldest"] < 0.10, share
    decades = Counter(a // 10 for a in ages)
    assert all(decades[d] > 0 for d in range(10))


def test_age_on_counts_birthdays() -> None:
    born_on_reference_day = replace(RESIDENTS[0], birth_date=date(1956, 11, 25))
    assert age_on(born_on_reference_day, date(2026, 11, 24)) == 69
    assert age_on(born_on_reference_day, REFERENCE_DAY) == 70
    leapling = replace(RESIDENTS[0], birth_date=date(2000, 2, 29))
    assert age_on(leapling, date(2026, 2, 28)) == 25
    assert age_on(leapling, date(2026, 3, 1)) == 26


def test_households_share_what_a_household_shares() -> None:
    households: defaultdict[str, list[Resident]] = defaultdict(list)
    for r in RESIDENTS:
        households[r.household_id].append(r)
    sizes = Counter(len(members) for members in households.values())
    assert set(sizes) <= {1, 2, 3, 4, 5} and len(sizes) == 5
    for members in households.values():
        head = members[0]
        assert head.relation == "HEAD" and [m.relation for m in members].count("HEAD") == 1
        assert age_on(head, REFERENCE_DAY) >= 18
        for m in members:
            assert (m.town, m.household_type, m.hukou_district, m.address) == (
                head.town,
                head.household_type,
                head.hukou_district,
                head.address,
            )
            assert (m.income_band, m.minimum_allowance) == (head.income_band, head.minimum_allowance)
        assert WORLD.household(head.household_id) == tuple(members)
    # members are listed together, household by household
    order = [r.household_id for r in RESIDENTS]
    assert len(households) == len([h for i, h in enumerate(order) if i == 0 or order[i - 1] != h])


def test_rural_households_are_in_the_towns_not_the_subdistricts() -> None:
    rural = [r for r in RESIDENTS if r.household_type == "rural"]
    assert 0.1 < len(rural) / len(RESIDENTS) < 0.4
    assert all(not r.town.endswith("街道") for r in rural)
    assert all(r.hukou_district == "浦东新区" and "村" in r.address for r in rural)


def test_department_facts_are_consistent() -> None:
    for r in RESIDENTS:
        age = age_on(r, REFERENCE_DAY)
        if age < 16:
            assert r.employment_status in ("STUDENT", "NONE")
        if r.employment_status == "RETIRED":
            assert age >= 55
        if r.employment_status == "STUDENT":
            assert 6 <= age < 23
        if r.veteran:
            assert age >= 20
        if r.minimum_allowance:
            assert r.income_band == "LOW" and r.hukou_district != "外省市"
        if r.land_contract_mu is not None:
            assert r.household_type == "rural" and r.relation == "HEAD" and r.land_contract_mu > 0
        assert r.disability_level is None or 1 <= r.disability_level <= 4
        if r.disability_level is None:
            assert r.disability_certificate_no is None and r.disability_certified_on is None
        else:
            number, certified = r.disability_certificate_no, r.disability_certified_on
            assert number is not None and certified is not None
            assert re.fullmatch(re.escape(r.id_number) + r"[1-7]" + str(r.disability_level), number)
            assert r.birth_date < certified < REFERENCE_DAY
        if r.veteran:
            assert r.veteran_branch in ("陆军", "海军", "空军", "火箭军", "武警部队")
            assert r.discharge_date is not None and age_on(r, r.discharge_date) >= 20
            assert r.discharge_date < REFERENCE_DAY
        else:
            assert r.veteran_branch is None and r.discharge_date is None
        assert r.volunteer_hours >= 0
        assert r.medical_insurance in ("EMPLOYEE", "RESIDENT", "NONE")
    count = len(RESIDENTS)
    disabled = sum(r.disability_level is not None for r in RESIDENTS) / count
    veterans = sum(r.veteran for r in RESIDENTS) / count
    assert 0.03 < disabled < 0.08 and 0.01 < veterans < 0.04
    assert Counter(r.income_band for r in RESIDENTS).keys() == {
        "LOW",
        "LOWER_MIDDLE",
        "MIDDLE",
        "UPPER_MIDDLE",
        "HIGH",
    }
    statuses = Counter(r.employment_status for r in RESIDENTS)
    assert set(statuses) == {"EMPLOYED", "UNEMPLOYED", "RETIRED", "STUDENT", "FLEXIBLE", "NONE"}
    assert all(
        r.land_contract_mu is not None
        for r in RESIDENTS
        if r.household_type == "rural" and r.relation == "HEAD"
    )


def test_fixture_residents_are_what_they_say() -> None:
    assert list(FIXTURE_RESIDENTS.values()) == list(range(10))
    senior = fixture("senior_pudong")
    assert age_on(senior, REFERENCE_DAY) == 70
    assert (senior.household_type, senior.hukou_district) == ("urban", "浦东新区")
    farmer = fixture("rural_head")
    assert (farmer.household_type, farmer.relation) == ("rural", "HEAD") and farmer.land_contract_mu == 6.5
    assert fixture("rural_spouse").household_id == farmer.household_id
    disabled = fixture("disabled_adult")
    assert disabled.disability_level == 2 and age_on(disabled, REFERENCE_DAY) >= 18
    assert fixture("veteran").veteran
    assert fixture("unemployed").employment_status == "UNEMPLOYED"
    allowance = fixture("minimum_allowance")
    assert allowance.minimum_allowance and allowance.income_band == "LOW"
    child = fixture("child")
    assert age_on(child, REFERENCE_DAY) == 8 and child.household_id == fixture("unemployed").household_id
    assert child.phone == fixture("unemployed").phone  # reached through the parent
    migrant = fixture("non_pudong_hukou")
    assert migrant.hukou_district == "外省市" and migrant.id_number.startswith("340102")
    assert age_on(migrant, REFERENCE_DAY) >= 18
    assert fixture("huangpu_senior").hukou_district == "黄浦区"
    # only the announced fact sets them apart
    ordinary = [f for f in FIXTURE_RESIDENTS if f not in ("veteran", "disabled_adult")]
    assert not any(fixture(f).veteran or fixture(f).disability_level for f in ordinary)


@pytest.mark.parametrize(
    ("name", "eligible_for", "not_eligible_for"),
    [
        ("senior_pudong", ["MZ-003", "WJ-004", "SQ-005"], ["MZ-001", "GH-001", "TY-001"]),
        ("rural_head", ["GH-001", "NY-001", "NY-002", "RS-004"], ["MZ-003", "ZJ-003", "CL-004"]),
        ("disabled_adult", ["CL-002", "CL-003", "CL-004"], ["TY-001", "MZ-003"]),
        ("veteran", ["TY-001", "TY-003"], ["TY-002", "CL-004", "RS-001"]),
        ("unemployed", ["RS-001", "RS-004"], ["SJ-002", "MZ-003"]),
        ("minimum_allowance", ["MZ-001", "MZ-004", "SF-002"], ["MZ-003", "CL-002"]),
        ("child", ["JY-001", "WL-002"], ["JY-002", "ZY-001", "SC-001"]),
        ("non_pudong_hukou", ["GA-001", "RS-006"], ["GA-003", "MZ-002", "ZJ-001"]),
        ("huangpu_senior", ["WJ-004", "MZ-002"], ["MZ-003"]),
    ],
)
def test_fixture_eligibility(name: str, eligible_for: list[str], not_eligible_for: list[str]) -> None:
    resident = fixture(name)
    assert [c for c in eligible_for if not eligible(resident, c)] == []
    assert [c for c in not_eligible_for if eligible(resident, c)] == []


def test_facts_name_every_canonical_fact() -> None:
    facts = facts_of(fixture("senior_pudong"))
    assert facts["age"] == 70 and facts["hukou_district"] == "浦东新区"
    assert facts["disability_level"] is None and facts["veteran"] is False


def test_every_service_with_criteria_has_someone_eligible_and_someone_not() -> None:
    facts = [facts_of(r) for r in RESIDENTS]
    for service in WORLD.catalogue:
        meets = [all(c.holds_for(f[c.fact]) for c in service.criteria) for f in facts]
        assert any(meets), service.code
        if service.criteria:
            assert not all(meets), service.code
