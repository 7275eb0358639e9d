"""education through the gateway: enveloped, OAuth2-protected catalogue and paged cases."""

from __future__ import annotations

import math

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_cases_arrived,
    assert_catalogue_arrived,
    auth_failure,
    busiest_applicant,
    cases_at,
    catalogue_via_graphql,
    fixture,
    unknown_resident_id,
)

DEPARTMENT = "education"
STATES = {
    "SUBMITTED": "RECEIVED",
    "ACCEPTED": "ACCEPTED",
    "IN_REVIEW": "REVIEWING",
    "NEEDS_INFO": "SUPPLEMENT",
    "APPROVED": "PASSED",
    "REJECTED": "REJECTED",
    "COMPLETED": "FINISHED",
    "WITHDRAWN": "CANCELLED",
}


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "EDUCATION")


@pytest.mark.parametrize("resident_id", [fixture("child").id_number, busiest_applicant(WORLD, DEPARTMENT)])
async def test_cases_in_canonical_and_department_words(connect: Connect, resident_id: str) -> None:
    fetched = await connect(DEPARTMENT).adapter.cases(resident_id)
    assert fetched.value.problems == ()
    assert_cases_arrived(fetched.value.records, DEPARTMENT, resident_id, STATES)


async def test_cases_walk_every_page(connect: Connect, admin: Admin) -> None:
    resident_id = busiest_applicant(WORLD, DEPARTMENT)
    count = len(cases_at(DEPARTMENT, resident_id))
    assert count >= 2
    department = connect(DEPARTMENT, lambda t: t.replace("size: 100", "size: 1"))
    fetched = await department.adapter.cases(resident_id)
    assert len(fetched.value.records) == count
    paths = await admin.paths(DEPARTMENT)
    assert paths.get("/education/api/v1/cases") == math.ceil(count / 1)
    assert paths.get("/education/oauth2/token") == 1


async def test_every_state_maps(connect: Connect) -> None:
    department = connect(DEPARTMENT)
    for status, word in STATES.items():
        case = next(c for c in WORLD.cases_of(DEPARTMENT) if c.status.value == status)
        fetched = await department.adapter.cases(case.resident)
        record = next(r for r in fetched.value.records if r.id == case.ref)
        assert (record.status, record.department_status) == (status, word)


async def test_unknown_resident_has_no_cases(connect: Connect) -> None:
    fetched = await connect(DEPARTMENT).adapter.cases(unknown_resident_id())
    assert fetched.value.records == () and fetched.value.problems == ()


async def test_expired_token_is_renewed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT)
    await department.adapter.catalog()
    async with admin.http.post(f"{admin.url}/_admin/tokens/expire") as response:
        assert response.status == 200
    fetched = await department.adapter.catalog()
    assert len(fetched.value.records) == len(WORLD.services_of(DEPARTMENT))
    assert (await admin.paths(DEPARTMENT)).get("/education/oauth2/token") == 2


async def test_envelope_failure_is_unavailable(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, lambda t: t + "policy: {retries: 0}\n")
    await department.adapter.catalog()  # the token first: the fault hits the token endpoint too
    await admin.fault(DEPARTMENT, error_rate=1.0)
    with pytest.raises(UpstreamError) as caught:
        await department.adapter.catalog()
    assert caught.value.code is UpstreamCode.UNAVAILABLE  # HTTP 200 with code 500 is still a failure


async def test_wrong_client_secret_is_auth_failed(connect: Connect) -> None:
    department = connect(DEPARTMENT, EDUCATION_CLIENT_SECRET="wrong")
    refused = await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert "wrong" not in refused.message
