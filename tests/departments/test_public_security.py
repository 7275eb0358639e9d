"""public-security through the gateway: SOAP catalogue, household register one resident per call."""

from __future__ import annotations

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

DEPARTMENT = "public-security"
SOAP_PATH = "/public-security/ws"


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "OTHER")  # criteria from XML attributes


async def test_facts_equal_the_world_one_call_each(connect: Connect, admin: Admin) -> None:
    residents = sample_residents(25)
    records = await facts_records(connect, DEPARTMENT, residents)
    for resident in residents:
        (record,) = records[resident.id_number]
        assert record.resident_id == resident.id_number
        assert record.birth_date == resident.birth_date
        assert record.hukou_district == resident.hukou_district
        assert record.household_id == resident.household_id
        assert record.household_type == resident.household_type
        assert record.medical_insurance is None  # not this department's fact
    assert (await admin.paths(DEPARTMENT)).get(SOAP_PATH) == len(residents)


async def test_unknown_resident_is_an_empty_answer(connect: Connect) -> None:
    known = fixture("rural_head").id_number
    records = await facts_beside_unknown(connect, DEPARTMENT, known)
    assert [r.household_type for r in records] == ["rural"]


async def test_wrong_password_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, PUBLIC_SECURITY_PASSWORD="wrong")
    await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert await admin.requests(DEPARTMENT) == 1


async def test_server_fault_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, error_rate=1.0)
    await unavailable(connect(DEPARTMENT, no_retries).adapter.catalog())
