"""The seeded cases: every canonical status at every case-owning department, coherent histories."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from itertools import pairwise

import pytest

from mocks.world import (
    CASE_COUNTS,
    CASE_DEPARTMENTS,
    FINAL_STATUSES,
    FIXTURE_CASES,
    FIXTURE_RESIDENTS,
    NOW,
    REFERENCE_DAY,
    CaseStatus,
    build_world,
    is_eligible,
)

WORLD = build_world()

REF_PATTERNS = {
    "civil-affairs": r"MZ\d{8}\d{5}",
    "hrss": r"RS-\d{8}-\d{6}",
    "health": r"WJ\d{6}-\d{5}",
    "medical-insurance": r"YB-\d{4}-\d{6}",
    "education": r"JY\d{4}\d{6}",
    "housing": r"ZJ\d{4}-\d{5}",
    "planning-land": r"GH/\d{4}/\d{5}",
    "market-regulation": r"SC310115-\d{4}-\d{5}",
}


def test_about_2000_cases_at_the_eight_case_owning_departments() -> None:
    assert set(CASE_DEPARTMENTS) == set(REF_PATTERNS)
    assert 1800 <= len(WORLD.cases) <= 2200
    counts = Counter(c.department for c in WORLD.cases)
    assert counts == dict(CASE_COUNTS)
    assert sum(len(WORLD.cases_of(d)) for d in CASE_DEPARTMENTS) == len(WORLD.cases)


@pytest.mark.parametrize("department", CASE_DEPARTMENTS)
def test_every_status_appears_in_every_department(department: str) -> None:
    statuses = {c.status for c in WORLD.cases_of(department)}
    assert statuses == set(CaseStatus)


def test_refs_unique_and_in_the_departments_formats() -> None:
    assert len({c.ref for c in WORLD.cases}) == len(WORLD.cases)
    for case in WORLD.cases:
        assert re.fullmatch(REF_PATTERNS[case.department], case.ref), case.ref
        assert str(case.submitted_at.year) in case.ref or f"{case.submitted_at:%y%m%d}" in case.ref


def test_cases_belong_to_their_department_and_a_resident() -> None:
    for case in WORLD.cases:
        service = WORLD.service(case.service)
        assert service is not None and service.department == case.department
        assert WORLD.resident(case.resident) is not None


def test_histories_are_in_time_order_and_end_at_the_status() -> None:
    for case in WORLD.cases:
        history = case.history
        assert history[0].status is CaseStatus.SUBMITTED
        assert history[-1].status is case.status
        assert all(a.at < b.at for a, b in pairwise(history)), case.ref
        assert all(e.at.utcoffset() == timedelta(hours=8) for e in history)
        assert case.submitted_at == history[0].at and case.updated_at == history[-1].at
        assert case.updated_at < NOW
        assert all(e.note_zh for e in history)
        assert not any(e.status in FINAL_STATUSES for e in history[:-1]), case.ref


def test_department_steps_happen_in_office_hours() -> None:
    for case in WORLD.cases:
        for event in case.history[1:]:
            assert event.at.isoweekday() <= 5, case.ref
            assert (8, 30) <= (event.at.hour, event.at.minute) < (17, 30), case.ref


def test_next_action_and_expected_completion_only_while_open() -> None:
    for case in WORLD.cases:
        if case.status in FINAL_STATUSES:
            assert case.next_action is None and case.expected_completion is None
        else:
            assert case.next_action and re.search(r"[\u4e00-\u9fff]", case.next_action)
            assert case.expected_completion is not None and case.expected_completion > REFERENCE_DAY
    needs_info = [c for c in WORLD.cases if c.status is CaseStatus.NEEDS_INFO]
    assert all("补交" in (c.next_action or "") for c in needs_info)


def test_applicants_are_eligible_except_where_rejected_for_it() -> None:
    fixtures = {(WORLD.residents[FIXTURE_RESIDENTS[n]].id_number, code) for n, code, _ in FIXTURE_CASES}
    for case in WORLD.cases:
        resident, service = WORLD.resident(case.resident), WORLD.service(case.service)
        assert resident is not None and service is not None
        if (case.resident, case.service) not in fixtures or case.status is not CaseStatus.REJECTED:
            assert is_eligible(resident, service), case.ref


def test_fixture_residents_have_their_cases() -> None:
    expected = {(WORLD.residents[FIXTURE_RESIDENTS[n]].id_number, code, st) for n, code, st in FIXTURE_CASES}
    fixture_ids = {WORLD.residents[i].id_number for i in FIXTURE_RESIDENTS.values()}
    got = {(c.resident, c.service, c.status) for c in WORLD.cases if c.resident in fixture_ids}
    assert got == expected  # exactly their hand-picked cases, nothing random
    assert sum(c.resident in fixture_ids for c in WORLD.cases) == len(FIXTURE_CASES)
    huangpu = WORLD.residents[FIXTURE_RESIDENTS["huangpu_senior"]]
    rejected = WORLD.cases_of_resident(huangpu.id_number)[0]
    senior_allowance = WORLD.service("MZ-003")
    assert senior_allowance is not None and not is_eligible(huangpu, senior_allowance)
    assert rejected.status is CaseStatus.REJECTED


def test_open_cases_are_recent() -> None:
    for case in WORLD.cases:
        if case.status not in FINAL_STATUSES:
            assert (NOW - case.submitted_at).days < 90, case.ref
