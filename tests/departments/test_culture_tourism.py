"""culture-tourism through the gateway: a UTF-8-with-BOM CSV file, criteria as JSON in a column.

The department has no authentication, so instead of a refused secret its two ways of failing are
checked: the proxy's error page and a cut-off file.
"""

from __future__ import annotations

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_catalogue_arrived,
    catalogue_via_graphql,
    expected_criteria,
    no_retries,
    unavailable,
)

DEPARTMENT = "culture-tourism"


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "CULTURE", same_instant=False)


async def test_criteria_from_json_in_a_column(connect: Connect) -> None:
    fetched = await connect(DEPARTMENT).adapter.catalog()
    assert fetched.value.problems == ()
    by_id = {r.id: r for r in fetched.value.records}
    assert any(s.criteria for s in WORLD.services_of(DEPARTMENT))
    for service in WORLD.services_of(DEPARTMENT):
        got = [
            {"fact": c.fact, "op": c.op, "value": c.value, "text": c.text}
            for c in by_id[service.code].criteria
        ]
        assert got == expected_criteria(service)


async def test_the_byte_order_mark_does_not_stick_to_the_first_column(connect: Connect) -> None:
    fetched = await connect(DEPARTMENT).adapter.catalog()
    assert [r.id for r in fetched.value.records] == [s.code for s in WORLD.services_of(DEPARTMENT)]


async def test_proxy_error_page_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, error_rate=1.0)
    await unavailable(connect(DEPARTMENT, no_retries).adapter.catalog())


async def test_cut_off_file_is_a_bad_response(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, malformed=True)
    with pytest.raises(UpstreamError) as caught:
        await connect(DEPARTMENT, no_retries).adapter.catalog()
    assert caught.value.code is UpstreamCode.BAD_RESPONSE
