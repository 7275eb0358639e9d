"""agriculture through the gateway: GB18030 CSV catalogue (criteria as JSON in a column), and the
land-contract register asked one resident per request."""

from __future__ import annotations

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from connectors.records import ResidentFacts
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    assert_catalogue_arrived,
    auth_failure,
    catalogue_via_graphql,
    facts_records,
    fixture,
    sample_residents,
    unavailable,
    unknown_resident_id,
)

DEPARTMENT = "agriculture"
HOUSEHOLD_PATH = "/agriculture/export/household.csv"


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "RURAL", same_instant=False)


async def test_facts_equal_the_world_one_call_each(connect: Connect, admin: Admin) -> None:
    residents = sample_residents(25)
    assert any(r.land_contract_mu is not None for r in residents)
    records = await facts_records(connect, DEPARTMENT, residents)
    for resident in residents:
        assert records[resident.id_number] == (
            ResidentFacts(
                resident_id=resident.id_number,
                department=DEPARTMENT,
                household_id=resident.household_id,
                land_contract_mu=resident.land_contract_mu,
            ),
        )
    assert (await admin.paths(DEPARTMENT)).get(HOUSEHOLD_PATH) == len(residents)


async def test_rural_head_has_his_contracted_land(connect: Connect) -> None:
    head = fixture("rural_head")
    answers = await connect(DEPARTMENT).adapter.facts([head.id_number])
    answer = answers[head.id_number]
    assert not isinstance(answer, UpstreamError)
    assert [r.land_contract_mu for r in answer.value.records] == [6.5] == [head.land_contract_mu]


async def test_unknown_resident_is_an_empty_answer(connect: Connect, admin: Admin) -> None:
    answers = await connect(DEPARTMENT).adapter.facts([unknown_resident_id()])
    answer = answers[unknown_resident_id()]
    assert not isinstance(answer, UpstreamError), answer
    assert answer.value.records == () and answer.value.problems == ()
    assert (await admin.paths(DEPARTMENT)).get(HOUSEHOLD_PATH) == 1


async def test_wrong_password_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, AGRICULTURE_PASSWORD="wrong")
    await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert await admin.requests(DEPARTMENT) == 1


async def test_nginx_502_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, error_rate=1)
    await unavailable(connect(DEPARTMENT).adapter.catalog())


async def test_broken_gb18030_is_bad_response(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, malformed=True)
    with pytest.raises(UpstreamError) as caught:
        await connect(DEPARTMENT).adapter.catalog()
    assert caught.value.code is UpstreamCode.BAD_RESPONSE
