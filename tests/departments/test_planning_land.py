"""planning-land through the gateway: the catalogue over GraphQL, a resident's cases through the connector.

The catalogue helpers are the batch's shared ones (in test_medical_insurance); the case check here is
its own because this department sends only the day of every date (yyyyMMdd).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from connectors.records import CaseRecord
from mocks.world import CST, Case, CaseStatus
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_catalogue_arrived,
    assert_unknown_resident_has_no_cases,
    busiest_applicant,
    catalogue_via_graphql,
    fixture,
    unavailable,
)

DEPARTMENT = "planning-land"
CASES_PATH = "/planning-land/api/anjian/list"
WORDS = {
    CaseStatus.SUBMITTED: "tijiao",
    CaseStatus.ACCEPTED: "shouli",
    CaseStatus.IN_REVIEW: "shencha",
    CaseStatus.NEEDS_INFO: "buzheng",
    CaseStatus.APPROVED: "pizhun",
    CaseStatus.REJECTED: "buyu",
    CaseStatus.COMPLETED: "banjie",
    CaseStatus.WITHDRAWN: "chehui",
}


def same_day(got: datetime | None, seeded: datetime | None) -> bool:
    """yyyyMMdd keeps only the day: a received moment is right when its Shanghai day is the seeded one."""
    if got is None or seeded is None:
        return got is seeded
    return got.astimezone(CST).date() == seeded.date()


def assert_cases_as_seeded(records: Sequence[CaseRecord], cases: Sequence[Case]) -> None:
    """The connector's cases are the seeded ones in order: canonical status, the pinyin word kept, the
    whole history in order with its notes, and every date on the seeded day."""
    assert [r.id for r in records] == [c.ref for c in cases]
    for record, case in zip(records, cases, strict=True):
        assert (record.service_id, record.resident_id) == (case.service, case.resident)
        assert record.status == case.status and record.department_status == WORDS[case.status]
        assert [(e.status, e.department_status, e.note) for e in record.history] == [
            (e.status, WORDS[e.status], e.note_zh) for e in case.history
        ]
        assert all(
            same_day(got.at, seeded.at) for got, seeded in zip(record.history, case.history, strict=True)
        )
        assert same_day(record.submitted_at, case.submitted_at)
        assert same_day(record.updated_at, case.updated_at)
        assert record.next_action == case.next_action
        expected_by = record.expected_completion
        assert (
            None if expected_by is None else expected_by.astimezone(CST).date()
        ) == case.expected_completion


def applicants_covering_every_status() -> list[str]:
    """A few applicants whose cases, together, are in every status; the busiest applicant first."""
    cases = WORLD.cases_of(DEPARTMENT)
    chosen = [busiest_applicant(WORLD, DEPARTMENT)] + [
        next(c.resident for c in cases if c.status is s) for s in CaseStatus
    ]
    return list(dict.fromkeys(chosen))


def cases_of(resident_id: str) -> list[Case]:
    return [c for c in WORLD.cases_of(DEPARTMENT) if c.resident == resident_id]


async def test_catalogue_through_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "HOUSING", same_instant=False)


async def test_cases_of_residents_in_every_status(connect: Connect) -> None:
    planning = connect(DEPARTMENT)
    for resident in [*applicants_covering_every_status(), fixture("rural_head").id_number]:
        fetched = await planning.adapter.cases(resident)
        assert fetched.value.problems == ()
        assert cases_of(resident)
        assert_cases_as_seeded(fetched.value.records, cases_of(resident))


async def test_cases_walk_every_page(connect: Connect, admin: Admin) -> None:
    busiest = busiest_applicant(WORLD, DEPARTMENT)
    count = len(cases_of(busiest))
    assert count >= 2
    planning = connect(DEPARTMENT, lambda t: t.replace("size: 200", "size: 1"))
    fetched = await planning.adapter.cases(busiest)
    assert [r.id for r in fetched.value.records] == [c.ref for c in cases_of(busiest)]
    assert (await admin.paths(DEPARTMENT)).get(CASES_PATH) == count


async def test_unknown_resident_has_no_cases(connect: Connect) -> None:
    await assert_unknown_resident_has_no_cases(connect, DEPARTMENT)


async def test_wrong_api_key_is_auth_failed(connect: Connect, admin: Admin) -> None:
    planning = connect(DEPARTMENT, PLANNING_LAND_API_KEY="wrong")
    with pytest.raises(UpstreamError) as caught:
        await planning.adapter.catalog()
    assert caught.value.code is UpstreamCode.AUTH_FAILED and caught.value.department == DEPARTMENT
    assert await admin.requests(DEPARTMENT) == 1


async def test_code_9999_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, error_rate=1)
    await unavailable(connect(DEPARTMENT).adapter.cases(fixture("rural_head").id_number))
