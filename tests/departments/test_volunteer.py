"""volunteer through the gateway: UTF-8 CSV in offset pages, criteria as JSON cells, hours in batches."""

from __future__ import annotations

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from connectors.records import ResidentFacts
from mocks.world import Resident
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_catalogue_arrived,
    assert_facts_batched,
    auth_failure,
    catalogue_via_graphql,
    facts_beside_unknown,
    facts_records,
    fixture,
    sample_residents,
)

DEPARTMENT = "volunteer"
SERVICES_PATH = "/volunteer/csv/services"
HOURS_PATH = "/volunteer/csv/hours"


def expected_facts(resident: Resident) -> ResidentFacts:
    """What the centre knows: hours served, nothing else."""
    return ResidentFacts(
        resident_id=resident.id_number, department=DEPARTMENT, volunteer_hours=resident.volunteer_hours
    )


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "VOLUNTEER", same_instant=False)  # yyyyMMdd: the day only


async def test_catalogue_walks_offset_pages(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, lambda t: t.replace("limit: 100", "limit: 1"))
    fetched = await department.adapter.catalog()
    assert [r.id for r in fetched.value.records] == [s.code for s in WORLD.services_of(DEPARTMENT)]
    assert (await admin.paths(DEPARTMENT)).get(SERVICES_PATH) == len(WORLD.services_of(DEPARTMENT))


async def test_facts_equal_the_world(connect: Connect) -> None:
    residents = sample_residents(60)
    records = await facts_records(connect, DEPARTMENT, residents)
    for resident in residents:
        assert records[resident.id_number] == (expected_facts(resident),)


async def test_facts_are_asked_in_batches_of_a_hundred(connect: Connect, admin: Admin) -> None:
    await assert_facts_batched(connect, admin, DEPARTMENT, HOURS_PATH, 250, 100)


async def test_unknown_resident_is_an_empty_answer(connect: Connect) -> None:
    known = fixture("senior_pudong").id_number
    records = await facts_beside_unknown(connect, DEPARTMENT, known)
    assert [r.volunteer_hours for r in records] == [120]


async def test_wrong_api_key_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, VOLUNTEER_API_KEY="wrong")
    await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert await admin.requests(DEPARTMENT) == 1


async def test_malformed_csv_is_bad_response(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, malformed=True)
    with pytest.raises(UpstreamError) as caught:
        await connect(DEPARTMENT).adapter.catalog()
    assert caught.value.code is UpstreamCode.BAD_RESPONSE
