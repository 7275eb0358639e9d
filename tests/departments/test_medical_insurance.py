"""medical-insurance through the gateway: catalogue over GraphQL, insured status in batches, cases."""

from __future__ import annotations

import pytest

from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_cases_fetched,
    assert_catalogue_arrived,
    assert_facts_batched,
    assert_unknown_resident_has_no_cases,
    auth_failure,
    busiest_applicant,
    catalogue_via_graphql,
    facts_beside_unknown,
    facts_records,
    fixture,
    sample_residents,
)

DEPARTMENT = "medical-insurance"
BATCH_PATH = "/medical-insurance/api/insured/batch"


STATUS_CODES = {
    "SUBMITTED": "01",
    "ACCEPTED": "02",
    "IN_REVIEW": "03",
    "NEEDS_INFO": "04",
    "APPROVED": "05",
    "REJECTED": "06",
    "COMPLETED": "07",
    "WITHDRAWN": "09",
}


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "SOCIAL_INSURANCE")


async def test_facts_equal_the_world(connect: Connect) -> None:
    residents = sample_residents(40)
    records = await facts_records(connect, DEPARTMENT, residents)
    for resident in residents:
        (record,) = records[resident.id_number]
        assert record.resident_id == resident.id_number
        assert record.medical_insurance == resident.medical_insurance
        assert record.birth_date is None  # not this department's fact


async def test_facts_are_asked_in_batches_of_fifty(connect: Connect, admin: Admin) -> None:
    await assert_facts_batched(connect, admin, DEPARTMENT, BATCH_PATH, 120, 50)


async def test_unknown_resident_is_an_empty_answer(connect: Connect) -> None:
    known = fixture("senior_pudong").id_number
    records = await facts_beside_unknown(connect, DEPARTMENT, known)
    assert len(records) == 1


@pytest.mark.parametrize(
    "resident_id", [fixture("disabled_adult").id_number, busiest_applicant(WORLD, DEPARTMENT)]
)
async def test_cases_in_canonical_and_department_words(connect: Connect, resident_id: str) -> None:
    await assert_cases_fetched(connect, DEPARTMENT, resident_id, STATUS_CODES)


async def test_every_status_code_maps(connect: Connect) -> None:
    """One resident per canonical status, so every code of the vocabulary is read once."""
    department = connect(DEPARTMENT)
    for status in STATUS_CODES:
        case = next(c for c in WORLD.cases_of(DEPARTMENT) if c.status.value == status)
        fetched = await department.adapter.cases(case.resident)
        record = next(r for r in fetched.value.records if r.id == case.ref)
        assert (record.status, record.department_status) == (status, STATUS_CODES[status])


async def test_unknown_resident_has_no_cases(connect: Connect) -> None:
    await assert_unknown_resident_has_no_cases(connect, DEPARTMENT)


async def test_wrong_app_key_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, MEDICAL_INSURANCE_APP_KEY="wrong")
    await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert await admin.requests(DEPARTMENT) == 1
