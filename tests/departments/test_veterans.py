"""veterans through the gateway: snake_case JSON catalogue, the veterans register one call per resident."""

from __future__ import annotations

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from connectors.records import ResidentFacts
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    assert_catalogue_arrived,
    auth_failure,
    catalogue_via_graphql,
    facts_beside_unknown,
    facts_records,
    fixture,
    no_retries,
    sample_residents,
    unavailable,
)

DEPARTMENT = "veterans"
PATH = "/veterans/api/veterans/"


def expected_facts(resident_id: str, veteran: bool) -> ResidentFacts:
    """What the bureau knows: whether the person is a veteran, nothing else."""
    return ResidentFacts(resident_id=resident_id, department=DEPARTMENT, veteran=veteran)


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "VETERANS", same_instant=False)  # yyyyMMdd: the day only


async def test_facts_equal_the_world_one_call_each(connect: Connect, admin: Admin) -> None:
    residents = sample_residents(25)
    records = await facts_records(connect, DEPARTMENT, residents)
    for resident in residents:
        assert records[resident.id_number] == (expected_facts(resident.id_number, resident.veteran),)
    assert any(r.veteran for r in residents) and not all(r.veteran for r in residents)
    paths = await admin.paths(DEPARTMENT)
    assert sum(n for p, n in paths.items() if p.startswith(PATH)) == len(residents)


async def test_unknown_resident_is_an_empty_answer(connect: Connect) -> None:
    known = fixture("veteran").id_number
    records = await facts_beside_unknown(connect, DEPARTMENT, known)
    assert records == (expected_facts(known, True),)


async def test_wrong_api_key_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, VETERANS_API_KEY="wrong")
    await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert await admin.requests(DEPARTMENT) == 1


async def test_server_error_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, error_rate=1.0)
    await unavailable(connect(DEPARTMENT, no_retries).adapter.catalog())


async def test_malformed_body_is_bad_response(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, malformed=True)
    with pytest.raises(UpstreamError) as caught:
        await connect(DEPARTMENT).adapter.catalog()
    assert caught.value.code is UpstreamCode.BAD_RESPONSE
