"""market-regulation through the gateway: catalogue over GraphQL, cases with integer status codes,
OAuth2 tokens requested with HTTP Basic client credentials."""

from __future__ import annotations

import pytest

from mocks.world import CaseStatus
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_cases_arrived,
    assert_cases_fetched,
    assert_catalogue_arrived,
    assert_unknown_resident_has_no_cases,
    auth_failure,
    busiest_applicant,
    cases_at,
    catalogue_via_graphql,
    fixture,
    unavailable,
)

DEPARTMENT = "market-regulation"
TOKEN_PATH = "/market-regulation/auth/token"
CASES_PATH = "/market-regulation/api/cases"
STATUS_CODES = {
    "SUBMITTED": "10",
    "ACCEPTED": "20",
    "IN_REVIEW": "30",
    "NEEDS_INFO": "35",
    "APPROVED": "40",
    "REJECTED": "50",
    "COMPLETED": "60",
    "WITHDRAWN": "90",
}


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "BUSINESS")


@pytest.mark.parametrize("resident_id", [fixture("veteran").id_number, busiest_applicant(WORLD, DEPARTMENT)])
async def test_cases_in_canonical_and_department_words(connect: Connect, resident_id: str) -> None:
    records = await assert_cases_fetched(connect, DEPARTMENT, resident_id, STATUS_CODES)
    assert [r.id for r in records] == [c.ref for c in cases_at(DEPARTMENT, resident_id)]


async def test_every_status_code_maps(connect: Connect) -> None:
    """One applicant per canonical status, so every code of the vocabulary is read, with its history."""
    department = connect(DEPARTMENT)
    for status in CaseStatus:
        case = next(c for c in WORLD.cases_of(DEPARTMENT) if c.status is status)
        fetched = await department.adapter.cases(case.resident)
        assert_cases_arrived(fetched.value.records, DEPARTMENT, case.resident, STATUS_CODES)


async def test_cases_walk_every_page_with_one_token(connect: Connect, admin: Admin) -> None:
    busiest = busiest_applicant(WORLD, DEPARTMENT)
    count = len(cases_at(DEPARTMENT, busiest))
    assert count >= 2
    department = connect(DEPARTMENT, lambda t: t.replace("limit: 100", "limit: 1"))
    fetched = await department.adapter.cases(busiest)
    assert len(fetched.value.records) == count
    paths = await admin.paths(DEPARTMENT)
    assert paths.get(CASES_PATH) == count and paths.get(TOKEN_PATH) == 1


async def test_expired_token_is_renewed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT)
    resident = fixture("veteran").id_number
    await department.adapter.cases(resident)
    await admin.http.post(f"{admin.url}/_admin/tokens/expire")
    fetched = await department.adapter.cases(resident)
    assert_cases_arrived(fetched.value.records, DEPARTMENT, resident, STATUS_CODES)
    assert (await admin.paths(DEPARTMENT)).get(TOKEN_PATH) == 2


async def test_unknown_resident_has_no_cases(connect: Connect) -> None:
    await assert_unknown_resident_has_no_cases(connect, DEPARTMENT)


async def test_wrong_client_secret_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, MARKET_REGULATION_CLIENT_SECRET="wrong")
    await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert await admin.paths(DEPARTMENT) == {TOKEN_PATH: 1}


async def test_success_false_is_unavailable(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT)
    await department.adapter.catalog()  # a token first: the failure under test is the envelope's
    await admin.fault(DEPARTMENT, error_rate=1)
    await unavailable(department.adapter.cases(fixture("veteran").id_number))
