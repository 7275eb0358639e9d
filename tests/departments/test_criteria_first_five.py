"""The first five departments serve their services' eligibility criteria, each in its own habit
(pinyin `tiaojian`, SOAP `mz:Criterion` attributes, a GB18030 CSV cell of JSON, camelCase
`eligibility`, plain-XML `<criterion>` attributes), and they reach GraphQL equal to the world's."""

from __future__ import annotations

import pytest

from tests.conftest import Gateway
from tests.departments.support import WORLD, catalogue_via_graphql, expected_criteria


@pytest.mark.parametrize("department", ["community", "civil-affairs", "hrss", "health", "commerce"])
async def test_criteria_arrive_through_graphql(gateway: Gateway, department: str) -> None:
    nodes = await catalogue_via_graphql(gateway, department)
    seeded = WORLD.services_of(department)
    assert set(nodes) == {s.code for s in seeded}
    for service in seeded:
        assert nodes[service.code]["criteria"] == expected_criteria(service), service.code
    assert any(s.criteria for s in seeded), "a department with criteria to compare"
