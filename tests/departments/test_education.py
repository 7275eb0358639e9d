"""education through the gateway: enveloped, OAuth2-protected catalogue and paged cases."""

from __future__ import annotations

import math

import pytest

from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_cases_fetched,
    assert_catalogue_arrived,
    assert_every_status_maps,
    assert_unknown_resident_has_no_cases,
    auth_failure,
    busiest_applicant,
    cases_at,
    catalogue_via_graphql,
    fixture,
    no_retries,
    unavailable,
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
    await assert_cases_fetched(connect, DEPARTMENT, resident_id, STATES)


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
    await assert_every_status_maps(connect, DEPARTMENT, STATES)


async def test_unknown_resident_has_no_cases(connect: Connect) -> None:
    await assert_unknown_resident_has_no_cases(connect, DEPARTMENT)


async def test_expired_token_is_renewed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT)
    await department.adapter.catalog()
    async with admin.http.post(f"{admin.url}/_admin/tokens/expire") as response:
        assert response.status == 200
    fetched = await department.adapter.catalog()
    assert len(fetched.value.records) == len(WORLD.services_of(DEPARTMENT))
    assert (await admin.paths(DEPARTMENT)).get("/education/oauth2/token") == 2


async def test_envelope_failure_is_unavailable(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, no_retries)
    await department.adapter.catalog()  # the token first: the fault hits the token endpoint too
    await admin.fault(DEPARTMENT, error_rate=1.0)
    await unavailable(department.adapter.catalog())  # HTTP 200 with code 500 is still a failure


async def test_wrong_client_secret_is_auth_failed(connect: Connect) -> None:
    department = connect(DEPARTMENT, EDUCATION_CLIENT_SECRET="wrong")
    refused = await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert "wrong" not in refused.message
