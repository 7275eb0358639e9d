"""housing through the gateway: HMAC-signed plain XML, pages told in attributes, Chinese statuses."""

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
)

DEPARTMENT = "housing"
STATUSES = {
    "SUBMITTED": "已提交",
    "ACCEPTED": "已受理",
    "IN_REVIEW": "审核中",
    "NEEDS_INFO": "待补正",
    "APPROVED": "已批准",
    "REJECTED": "不予批准",
    "COMPLETED": "已办结",
    "WITHDRAWN": "已撤回",
}


def small_pages(text: str) -> str:
    return text.replace("size: 50", "size: 1")


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "HOUSING")  # criteria from XML attributes


async def test_catalogue_pages_from_the_total_attribute(connect: Connect, admin: Admin) -> None:
    fetched = await connect(DEPARTMENT, small_pages).adapter.catalog()
    assert [r.id for r in fetched.value.records] == [s.code for s in WORLD.services_of(DEPARTMENT)]
    pages = (await admin.paths(DEPARTMENT)).get("/housing/xml/services")
    assert pages == len(WORLD.services_of(DEPARTMENT))


@pytest.mark.parametrize(
    "resident_id", [fixture("non_pudong_hukou").id_number, busiest_applicant(WORLD, DEPARTMENT)]
)
async def test_cases_in_canonical_and_department_words(connect: Connect, resident_id: str) -> None:
    await assert_cases_fetched(connect, DEPARTMENT, resident_id, STATUSES)


async def test_cases_walk_every_page(connect: Connect, admin: Admin) -> None:
    resident_id = busiest_applicant(WORLD, DEPARTMENT)
    count = len(cases_at(DEPARTMENT, resident_id))
    assert count >= 2
    fetched = await connect(DEPARTMENT, small_pages).adapter.cases(resident_id)
    assert len(fetched.value.records) == count
    assert (await admin.paths(DEPARTMENT)).get("/housing/xml/cases") == math.ceil(count / 1)


async def test_every_status_maps(connect: Connect) -> None:
    await assert_every_status_maps(connect, DEPARTMENT, STATUSES)


async def test_unknown_resident_has_no_cases(connect: Connect) -> None:
    await assert_unknown_resident_has_no_cases(connect, DEPARTMENT)


async def test_wrong_secret_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, HOUSING_HMAC_SECRET="wrong")
    await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert await admin.requests(DEPARTMENT) == 1
