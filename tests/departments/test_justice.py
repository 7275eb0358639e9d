"""justice through the gateway: a public catalogue behind keyset cursors, epoch-second dates."""

from __future__ import annotations

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_catalogue_arrived,
    catalogue_via_graphql,
    expected_criteria,
    unavailable,
)

DEPARTMENT = "justice"
SERVICES_PATH = "/justice/open/v1/services"


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "LEGAL")


async def test_cursor_pages_are_followed_to_the_end(connect: Connect, admin: Admin) -> None:
    justice = connect(DEPARTMENT, lambda t: t.replace("limit: 50", "limit: 1"))
    fetched = await justice.adapter.catalog()
    services = WORLD.services_of(DEPARTMENT)
    assert [r.id for r in fetched.value.records] == [s.code for s in services]
    assert [[c.value for c in r.criteria] for r in fetched.value.records] == [
        [c["value"] for c in expected_criteria(s)] for s in services
    ]
    assert (await admin.paths(DEPARTMENT)).get(SERVICES_PATH) == len(services)  # one page each


async def test_no_credentials_are_sent_or_needed(connect: Connect, admin: Admin) -> None:
    fetched = await connect(DEPARTMENT).adapter.catalog()
    assert len(fetched.value.records) == len(WORLD.services_of(DEPARTMENT))
    assert await admin.requests(DEPARTMENT) == 1  # one page of 50 holds the catalogue


async def test_spring_503_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, error_rate=1)
    assert (await unavailable(connect(DEPARTMENT).adapter.catalog())).department == DEPARTMENT


async def test_malformed_body_is_bad_response(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, malformed=True)
    with pytest.raises(UpstreamError) as caught:
        await connect(DEPARTMENT).adapter.catalog()
    assert caught.value.code is UpstreamCode.BAD_RESPONSE
