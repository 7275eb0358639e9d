"""disabled-persons through the gateway: enveloped camelCase JSON, certificates in batches of 50."""

from __future__ import annotations

from connectors.records import ResidentFacts
from mocks.world import Resident
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    assert_catalogue_arrived,
    assert_facts_batched,
    auth_failure,
    catalogue_via_graphql,
    facts_beside_unknown,
    facts_records,
    fixture,
    no_retries,
    sample_residents,
    unavailable,
)

DEPARTMENT = "disabled-persons"
BATCH_PATH = "/disabled-persons/api/certificates"


def expected_facts(resident: Resident) -> ResidentFacts:
    """What the federation knows: the certificate's level, 0 for a person it knows has none (the
    world's `None`: the canonical record keeps `None` for "not this department's fact")."""
    return ResidentFacts(
        resident_id=resident.id_number, department=DEPARTMENT, disability_level=resident.disability_level or 0
    )


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "DISABILITY")  # epoch millis: the same instant


async def test_facts_equal_the_world(connect: Connect) -> None:
    residents = sample_residents(40)
    records = await facts_records(connect, DEPARTMENT, residents)
    for resident in residents:
        assert records[resident.id_number] == (expected_facts(resident),)


async def test_facts_are_asked_in_batches_of_fifty(connect: Connect, admin: Admin) -> None:
    await assert_facts_batched(connect, admin, DEPARTMENT, BATCH_PATH, 120, 50)


async def test_unknown_resident_is_an_empty_answer(connect: Connect) -> None:
    records = await facts_beside_unknown(connect, DEPARTMENT, fixture("disabled_adult").id_number)
    assert [r.disability_level for r in records] == [2]


async def test_wrong_password_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, DISABLED_PERSONS_PASSWORD="wrong")
    await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert await admin.requests(DEPARTMENT) == 1


async def test_envelope_failure_code_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, error_rate=1.0)  # HTTP 200, code 5001
    await unavailable(connect(DEPARTMENT, no_retries).adapter.catalog())
