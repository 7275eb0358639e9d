"""tax through the gateway: signed plain-XML catalogue (names and criteria in attributes), and income
bands asked in batches."""

from __future__ import annotations

import math

from connectors.errors import UpstreamCode, UpstreamError
from connectors.records import ResidentFacts
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_catalogue_arrived,
    auth_failure,
    catalogue_via_graphql,
    facts_records,
    sample_residents,
    unknown_resident_id,
)

DEPARTMENT = "tax"
BANDS_PATH = "/tax/xml/income-bands"


async def test_catalogue_via_graphql(gateway: Gateway) -> None:
    nodes = await catalogue_via_graphql(gateway, DEPARTMENT)
    assert_catalogue_arrived(nodes, DEPARTMENT, "TAX")  # criteria from XML attributes too


async def test_facts_equal_the_world(connect: Connect, admin: Admin) -> None:
    residents = sample_residents(60)
    records = await facts_records(connect, DEPARTMENT, residents)
    for resident in residents:
        assert records[resident.id_number] == (
            ResidentFacts(
                resident_id=resident.id_number, department=DEPARTMENT, income_band=resident.income_band
            ),
        )
    assert (await admin.paths(DEPARTMENT)).get(BANDS_PATH) == 1  # 60 fit in one batch of 100


async def test_facts_are_asked_in_batches(connect: Connect, admin: Admin) -> None:
    ids = [r.id_number for r in WORLD.residents[:30]]
    tax = connect(DEPARTMENT, lambda t: t.replace("max_size: 100", "max_size: 7"))
    answers = await tax.adapter.facts(ids)
    assert set(answers) == set(ids)
    assert (await admin.paths(DEPARTMENT)).get(BANDS_PATH) == math.ceil(30 / 7)


async def test_unknown_resident_is_an_empty_answer(connect: Connect, admin: Admin) -> None:
    answers = await connect(DEPARTMENT).adapter.facts([unknown_resident_id()])
    answer = answers[unknown_resident_id()]
    assert not isinstance(answer, UpstreamError), answer
    assert answer.value.records == () and answer.value.problems == ()
    assert (await admin.paths(DEPARTMENT)).get(BANDS_PATH) == 1


async def test_wrong_secret_is_auth_failed(connect: Connect, admin: Admin) -> None:
    department = connect(DEPARTMENT, TAX_HMAC_SECRET="wrong")
    refused = await auth_failure(department.adapter.catalog(), DEPARTMENT)
    assert "wrong" not in refused.message
    assert await admin.requests(DEPARTMENT) == 1


async def test_error_document_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault(DEPARTMENT, error_rate=1)
    answers = await connect(DEPARTMENT).adapter.facts([unknown_resident_id()])
    failure = answers[unknown_resident_id()]  # a failed batch is every asked resident's failure
    assert isinstance(failure, UpstreamError) and failure.code is UpstreamCode.UNAVAILABLE
