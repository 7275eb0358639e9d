"""utilities through the gateway: the catalogue behind OAuth2 (bills need an identity lookup the spec
language cannot express yet, so the spec maps the catalogue only)."""

from __future__ import annotations

from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_catalogue_arrived,
    auth_failure,
    catalogue_via_graphql,
    expected_criteria,
    no_retries,
    unavailable,
)

DEPARTMENT = "utilities"


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "UTILITIES")  # ISO with offset: the same instant
    assert any(expected_criteria(s) for s in WORLD.services_of(DEPARTMENT))


async def test_token_is_fetched_once_and_renewed_when_refused(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT)
    for _ in range(2):
        fetched = await department.adapter.catalog()
        assert [r.id for r in fetched.value.records] == [s.code for s in WORLD.services_of(DEPARTMENT)]
    assert (await admin.paths(DEPARTMENT)).get("/utilities/oauth/token") == 1
    await admin.http.post(f"{admin.url}/_admin/tokens/expire")
    await department.adapter.catalog()
    assert (await admin.paths(DEPARTMENT)).get("/utilities/oauth/token") == 2


async def test_wrong_client_secret_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, UTILITIES_CLIENT_SECRET="wrong")
    refused = await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert "wrong" not in refused.message
    assert await admin.requests(DEPARTMENT) == 1


async def test_server_error_is_unavailable(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, no_retries)
    await admin.fault(DEPARTMENT, error_rate=1.0)  # the token endpoint fails too
    await unavailable(department.adapter.catalog())
