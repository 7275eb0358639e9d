"""Every department through the gateway, as one table of cases.

Each department speaks its own format, auth and paging (see its spec in ``connectors/specs``); what the
gateway must make of it is the same: the catalogue arrives through GraphQL field by field, facts and
cases equal the seeded world's, a refused secret is AUTH_FAILED, a failing department is UNAVAILABLE, a
broken body is BAD_RESPONSE, pages and batches are walked with the calls they cost. The tables below say
which department is checked for what and with which of its own words; the checks are written once. The
few habits only one department has are at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from domain.records import CaseRecord, ResidentFacts
from mocks.world import CST, Case, CaseStatus, Resident
from tests.conftest import Admin, Connect, Gateway
from tests.departments.support import (
    WORLD,
    assert_cases_arrived,
    assert_cases_fetched,
    assert_catalogue_arrived,
    assert_every_status_maps,
    assert_unknown_resident_has_no_cases,
    auth_failure,
    busiest_applicant,
    cases_at,
    catalogue_via_graphql,
    expected_criteria,
    facts_beside_unknown,
    facts_records,
    fixture,
    no_retries,
    sample_residents,
    unavailable,
    unknown_resident_id,
)

Edit = Callable[[str], str]


def keep(text: str) -> str:
    return text


def replacing(old: str, new: str) -> Edit:
    """A spec edit: one setting of the bundled spec changed (a smaller page, a smaller batch)."""
    return lambda text: text.replace(old, new)


def param(table: dict[str, Any]) -> list[Any]:
    return [pytest.param(key, row, id=key) for key, row in table.items()]


# -- the catalogue through GraphQL ------------------------------------------------------------------

# department -> (canonical category, whether it sends the instant of `updatedAt` or only the day)
CATALOGUES: dict[str, tuple[str, bool]] = {
    "agriculture": ("RURAL", False),  # GB18030 CSV, yyyyMMdd
    "culture-tourism": ("CULTURE", False),  # UTF-8 CSV with a BOM
    "disabled-persons": ("DISABILITY", True),  # epoch millis
    "education": ("EDUCATION", True),
    "housing": ("HOUSING", True),  # criteria from XML attributes
    "justice": ("LEGAL", True),  # epoch seconds
    "market-regulation": ("BUSINESS", True),
    "medical-insurance": ("SOCIAL_INSURANCE", True),
    "planning-land": ("HOUSING", False),  # yyyyMMdd
    "public-security": ("OTHER", True),  # SOAP, criteria from XML attributes
    "tax": ("TAX", True),  # plain XML, names and criteria in attributes
    "utilities": ("UTILITIES", True),  # ISO with offset
    "veterans": ("VETERANS", False),  # yyyyMMdd
    "volunteer": ("VOLUNTEER", False),  # yyyyMMdd
}


@pytest.mark.parametrize(("department", "row"), param(CATALOGUES))
async def test_catalogue_via_graphql(gateway: Gateway, department: str, row: tuple[str, bool]) -> None:
    category, same_instant = row
    nodes = await catalogue_via_graphql(gateway, department)
    assert_catalogue_arrived(nodes, department, category, same_instant=same_instant)


# Criteria, each department in its own habit (pinyin `tiaojian`, SOAP `mz:Criterion` attributes, a
# GB18030 CSV cell of JSON, camelCase `eligibility`, plain-XML `<criterion>` attributes, ...)
CRITERIA = ["community", "civil-affairs", "hrss", "health", "commerce", "utilities"]


@pytest.mark.parametrize("department", CRITERIA)
async def test_criteria_arrive_through_graphql(gateway: Gateway, department: str) -> None:
    nodes = await catalogue_via_graphql(gateway, department)
    seeded = WORLD.services_of(department)
    assert set(nodes) == {s.code for s in seeded}
    for service in seeded:
        assert nodes[service.code]["criteria"] == expected_criteria(service), service.code
    assert any(s.criteria for s in seeded), "a department with criteria to compare"


# -- catalogue pages ----------------------------------------------------------------------------------

# department -> (the spec's page size made 1, the catalogue's path: one call per service)
CATALOGUE_PAGES: dict[str, tuple[Edit, str]] = {
    "housing": (replacing("size: 50", "size: 1"), "/housing/xml/services"),  # the total attribute
    "justice": (replacing("limit: 50", "limit: 1"), "/justice/open/v1/services"),  # keyset cursors
    "volunteer": (replacing("limit: 100", "limit: 1"), "/volunteer/csv/services"),  # offsets
}


@pytest.mark.parametrize(("department", "row"), param(CATALOGUE_PAGES))
async def test_catalogue_pages_are_followed_to_the_end(
    connect: Connect, admin: Admin, department: str, row: tuple[Edit, str]
) -> None:
    edit, path = row
    fetched = await connect(department, edit).adapter.catalog()
    services = WORLD.services_of(department)
    assert [r.id for r in fetched.value.records] == [s.code for s in services]
    assert [[c.value for c in r.criteria] for r in fetched.value.records] == [
        [c["value"] for c in expected_criteria(s)] for s in services
    ]
    assert (await admin.paths(department)).get(path) == len(services)  # one page each


# -- refusals and failures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A wrong secret: the spec variable holding it, and what the department was asked before refusing."""

    setting: str
    requests: int | None = 1  # calls the department saw (None: not counted for this one)
    paths: dict[str, int] | None = None  # exactly these calls, when it matters which
    hides_secret: bool = False  # the error message must not repeat the wrong secret


REFUSALS: dict[str, Refusal] = {
    "agriculture": Refusal("AGRICULTURE_PASSWORD"),
    "disabled-persons": Refusal("DISABLED_PERSONS_PASSWORD"),
    "education": Refusal("EDUCATION_CLIENT_SECRET", requests=None, hides_secret=True),
    "housing": Refusal("HOUSING_HMAC_SECRET"),
    "market-regulation": Refusal(
        "MARKET_REGULATION_CLIENT_SECRET", requests=None, paths={"/market-regulation/auth/token": 1}
    ),
    "medical-insurance": Refusal("MEDICAL_INSURANCE_APP_KEY"),
    "planning-land": Refusal("PLANNING_LAND_API_KEY"),
    "public-security": Refusal("PUBLIC_SECURITY_PASSWORD"),
    "tax": Refusal("TAX_HMAC_SECRET", hides_secret=True),
    "utilities": Refusal("UTILITIES_CLIENT_SECRET", hides_secret=True),
    "veterans": Refusal("VETERANS_API_KEY"),
    "volunteer": Refusal("VOLUNTEER_API_KEY"),
}


@pytest.mark.parametrize(("department", "row"), param(REFUSALS))
async def test_a_wrong_secret_is_auth_failed(
    connect: Connect, admin: Admin, department: str, row: Refusal
) -> None:
    refused = await auth_failure(connect(department, **{row.setting: "wrong"}).adapter.catalog(), department)
    if row.hides_secret:
        assert "wrong" not in refused.message
    if row.requests is not None:
        assert await admin.requests(department) == row.requests
    if row.paths is not None:
        assert await admin.paths(department) == row.paths


@dataclass(frozen=True)
class Failing:
    """A department answering every call with its own failure (HTTP 5xx, an envelope code, a SOAP fault)."""

    edit: Edit = keep  # `no_retries` where the first failure must be the answer
    token_first: bool = False  # fetch the OAuth token before the fault: the failure is the data call's
    cases_of: str | None = None  # ask for this fixture resident's cases instead of the catalogue


FAILURES: dict[str, Failing] = {
    "agriculture": Failing(),  # nginx 502
    "culture-tourism": Failing(no_retries),  # the proxy's error page
    "disabled-persons": Failing(no_retries),  # HTTP 200, code 5001
    "education": Failing(no_retries, token_first=True),  # HTTP 200 with code 500
    "justice": Failing(),  # spring 503
    "market-regulation": Failing(token_first=True, cases_of="veteran"),  # success: false
    "planning-land": Failing(cases_of="rural_head"),  # code 9999
    "public-security": Failing(no_retries),  # a SOAP fault
    "utilities": Failing(no_retries),  # the token endpoint fails too
    "veterans": Failing(no_retries),
}


@pytest.mark.parametrize(("department", "row"), param(FAILURES))
async def test_a_failing_department_is_unavailable(
    connect: Connect, admin: Admin, department: str, row: Failing
) -> None:
    adapter = connect(department, row.edit).adapter
    if row.token_first:
        await adapter.catalog()
    await admin.fault(department, error_rate=1.0)
    call = adapter.catalog() if row.cases_of is None else adapter.cases(fixture(row.cases_of).id_number)
    assert (await unavailable(call)).department == department


# department -> whether retries are off (a cut-off file, a broken GB18030 body, a malformed JSON ...)
MALFORMED: dict[str, Edit] = {
    "agriculture": keep,
    "culture-tourism": no_retries,
    "justice": keep,
    "veterans": keep,
    "volunteer": keep,
}


@pytest.mark.parametrize(("department", "edit"), param(MALFORMED))
async def test_a_malformed_body_is_bad_response(
    connect: Connect, admin: Admin, department: str, edit: Edit
) -> None:
    await admin.fault(department, malformed=True)
    with pytest.raises(UpstreamError) as caught:
        await connect(department, edit).adapter.catalog()
    assert caught.value.code is UpstreamCode.BAD_RESPONSE


# -- facts ---------------------------------------------------------------------------------------


def _agriculture(resident: Resident, records: tuple[Any, ...]) -> None:
    assert records == (
        ResidentFacts(
            resident_id=resident.id_number,
            department="agriculture",
            household_id=resident.household_id,
            land_contract_mu=resident.land_contract_mu,
        ),
    )


def _disabled_persons(resident: Resident, records: tuple[Any, ...]) -> None:
    """The certificate's level, 0 for a person it knows has none (the world's `None`: the canonical
    record keeps `None` for "not this department's fact")."""
    assert records == (
        ResidentFacts(
            resident_id=resident.id_number,
            department="disabled-persons",
            disability_level=resident.disability_level or 0,
        ),
    )


def _medical_insurance(resident: Resident, records: tuple[Any, ...]) -> None:
    (record,) = records
    assert record.resident_id == resident.id_number
    assert record.medical_insurance == resident.medical_insurance
    assert record.birth_date is None  # not this department's fact


def _public_security(resident: Resident, records: tuple[Any, ...]) -> None:
    (record,) = records
    assert record.resident_id == resident.id_number
    assert record.birth_date == resident.birth_date
    assert record.hukou_district == resident.hukou_district
    assert record.household_id == resident.household_id
    assert record.household_type == resident.household_type
    assert record.medical_insurance is None  # not this department's fact


def _tax(resident: Resident, records: tuple[Any, ...]) -> None:
    assert records == (
        ResidentFacts(resident_id=resident.id_number, department="tax", income_band=resident.income_band),
    )


def veteran_facts(resident_id: str, veteran: bool) -> ResidentFacts:
    """What the bureau knows: whether the person is a veteran, nothing else."""
    return ResidentFacts(resident_id=resident_id, department="veterans", veteran=veteran)


def _veterans(resident: Resident, records: tuple[Any, ...]) -> None:
    assert records == (veteran_facts(resident.id_number, resident.veteran),)


def _volunteer(resident: Resident, records: tuple[Any, ...]) -> None:
    """What the centre knows: hours served, nothing else."""
    assert records == (
        ResidentFacts(
            resident_id=resident.id_number, department="volunteer", volunteer_hours=resident.volunteer_hours
        ),
    )


@dataclass(frozen=True)
class Facts:
    """A department's facts about a sample of residents, and the calls asking for them cost."""

    sample: int
    equal: Callable[[Resident, tuple[Any, ...]], None]  # asserts one resident's records
    path: str | None = None  # the facts' path (a prefix where the resident is in the path)
    calls: Callable[[int], int] | None = None  # calls to `path` for a sample of n
    spread: Callable[[Sequence[Resident]], bool] | None = None  # the sample says something


FACTS: dict[str, Facts] = {
    "agriculture": Facts(
        25,
        _agriculture,
        "/agriculture/export/household.csv",
        lambda n: n,  # one resident per request
        lambda rs: any(r.land_contract_mu is not None for r in rs),
    ),
    "disabled-persons": Facts(40, _disabled_persons),
    "medical-insurance": Facts(40, _medical_insurance),
    "public-security": Facts(25, _public_security, "/public-security/ws", lambda n: n),
    "tax": Facts(60, _tax, "/tax/xml/income-bands", lambda n: 1),  # 60 fit in one batch of 100
    "veterans": Facts(
        25,
        _veterans,
        "/veterans/api/veterans/",
        lambda n: n,
        lambda rs: any(r.veteran for r in rs) and not all(r.veteran for r in rs),
    ),
    "volunteer": Facts(60, _volunteer),
}


@pytest.mark.parametrize(("department", "row"), param(FACTS))
async def test_facts_equal_the_world(connect: Connect, admin: Admin, department: str, row: Facts) -> None:
    residents = sample_residents(row.sample)
    if row.spread is not None:
        assert row.spread(residents)
    records = await facts_records(connect, department, residents)
    for resident in residents:
        row.equal(resident, records[resident.id_number])
    if row.path is not None and row.calls is not None:
        paths = await admin.paths(department)
        assert sum(n for p, n in paths.items() if p.startswith(row.path)) == row.calls(len(residents))


# department -> (facts path, residents asked, batch size, the spec edit making that batch size)
BATCHES: dict[str, tuple[str, int, int, Edit]] = {
    "disabled-persons": ("/disabled-persons/api/certificates", 120, 50, keep),
    "medical-insurance": ("/medical-insurance/api/insured/batch", 120, 50, keep),
    "tax": ("/tax/xml/income-bands", 30, 7, replacing("max_size: 100", "max_size: 7")),
    "volunteer": ("/volunteer/csv/hours", 250, 100, keep),
}


@pytest.mark.parametrize(("department", "row"), param(BATCHES))
async def test_facts_are_asked_in_batches(
    connect: Connect, admin: Admin, department: str, row: tuple[str, int, int, Edit]
) -> None:
    path, count, batch, edit = row
    ids = [r.id_number for r in WORLD.residents[:count]]
    answers = await connect(department, edit).adapter.facts(ids)
    assert set(answers) == set(ids)
    assert (await admin.paths(department)).get(path) == math.ceil(count / batch)


# department -> the facts path: a resident nobody is costs one call and is an empty answer
UNKNOWN_ALONE = {"agriculture": "/agriculture/export/household.csv", "tax": "/tax/xml/income-bands"}


@pytest.mark.parametrize(("department", "path"), param(UNKNOWN_ALONE))
async def test_an_unknown_resident_alone_is_an_empty_answer(
    connect: Connect, admin: Admin, department: str, path: str
) -> None:
    answers = await connect(department).adapter.facts([unknown_resident_id()])
    answer = answers[unknown_resident_id()]
    assert not isinstance(answer, UpstreamError), answer
    assert answer.value.records == () and answer.value.problems == ()
    assert (await admin.paths(department)).get(path) == 1


# department -> (a fixture resident asked beside nobody, what the known one's records say)
UNKNOWN_BESIDE: dict[str, tuple[str, Callable[[tuple[Any, ...]], Any], Any]] = {
    "disabled-persons": ("disabled_adult", lambda rs: [r.disability_level for r in rs], [2]),
    "medical-insurance": ("senior_pudong", len, 1),
    "public-security": ("rural_head", lambda rs: [r.household_type for r in rs], ["rural"]),
    "veterans": ("veteran", lambda rs: rs, (veteran_facts(fixture("veteran").id_number, True),)),
    "volunteer": ("senior_pudong", lambda rs: [r.volunteer_hours for r in rs], [120]),
}


@pytest.mark.parametrize(("department", "row"), param(UNKNOWN_BESIDE))
async def test_an_unknown_resident_beside_a_known_one_is_an_empty_answer(
    connect: Connect, department: str, row: tuple[str, Callable[[tuple[Any, ...]], Any], Any]
) -> None:
    name, project, expected = row
    records = await facts_beside_unknown(connect, department, fixture(name).id_number)
    assert project(records) == expected


# -- cases ------------------------------------------------------------------------------------------

# department -> its word for each canonical status
WORDS: dict[str, dict[str, str]] = {
    "education": {
        "SUBMITTED": "RECEIVED",
        "ACCEPTED": "ACCEPTED",
        "IN_REVIEW": "REVIEWING",
        "NEEDS_INFO": "SUPPLEMENT",
        "APPROVED": "PASSED",
        "REJECTED": "REJECTED",
        "COMPLETED": "FINISHED",
        "WITHDRAWN": "CANCELLED",
    },
    "housing": {
        "SUBMITTED": "已提交",
        "ACCEPTED": "已受理",
        "IN_REVIEW": "审核中",
        "NEEDS_INFO": "待补正",
        "APPROVED": "已批准",
        "REJECTED": "不予批准",
        "COMPLETED": "已办结",
        "WITHDRAWN": "已撤回",
    },
    "market-regulation": {
        "SUBMITTED": "10",
        "ACCEPTED": "20",
        "IN_REVIEW": "30",
        "NEEDS_INFO": "35",
        "APPROVED": "40",
        "REJECTED": "50",
        "COMPLETED": "60",
        "WITHDRAWN": "90",
    },
    "medical-insurance": {
        "SUBMITTED": "01",
        "ACCEPTED": "02",
        "IN_REVIEW": "03",
        "NEEDS_INFO": "04",
        "APPROVED": "05",
        "REJECTED": "06",
        "COMPLETED": "07",
        "WITHDRAWN": "09",
    },
    "planning-land": {
        "SUBMITTED": "tijiao",
        "ACCEPTED": "shouli",
        "IN_REVIEW": "shencha",
        "NEEDS_INFO": "buzheng",
        "APPROVED": "pizhun",
        "REJECTED": "buyu",
        "COMPLETED": "banjie",
        "WITHDRAWN": "chehui",
    },
}

# (department, a fixture resident with cases there, whether the department keeps the world's order)
CASE_OWNERS = [
    ("education", "child", False),
    ("housing", "non_pudong_hukou", False),
    ("market-regulation", "veteran", True),
    ("medical-insurance", "disabled_adult", False),
]
APPLICANTS = [
    pytest.param(department, resident_id, ordered, id=f"{department}-{label}")
    for department, name, ordered in CASE_OWNERS
    for label, resident_id in (
        (name, fixture(name).id_number),
        ("busiest", busiest_applicant(WORLD, department)),
    )
]


@pytest.mark.parametrize(("department", "resident_id", "ordered"), APPLICANTS)
async def test_cases_in_canonical_and_department_words(
    connect: Connect, department: str, resident_id: str, ordered: bool
) -> None:
    records = await assert_cases_fetched(connect, department, resident_id, WORDS[department])
    if ordered:
        assert [r.id for r in records] == [c.ref for c in cases_at(department, resident_id)]


# department -> whether each status's case is checked whole (history and all) or status and word only
EVERY_STATUS = {"education": False, "housing": False, "market-regulation": True, "medical-insurance": False}


@pytest.mark.parametrize(("department", "whole"), param(EVERY_STATUS))
async def test_every_status_maps(connect: Connect, department: str, whole: bool) -> None:
    """One applicant per canonical status, so every word of the vocabulary is read."""
    words = WORDS[department]
    if not whole:
        await assert_every_status_maps(connect, department, words)
        return
    adapter = connect(department).adapter
    for status in CaseStatus:
        case = next(c for c in WORLD.cases_of(department) if c.status is status)
        fetched = await adapter.cases(case.resident)
        assert_cases_arrived(fetched.value.records, department, case.resident, words)


@pytest.mark.parametrize(
    "department", ["education", "housing", "market-regulation", "medical-insurance", "planning-land"]
)
async def test_an_unknown_resident_has_no_cases(connect: Connect, department: str) -> None:
    await assert_unknown_resident_has_no_cases(connect, department)


@dataclass(frozen=True)
class CasePages:
    """The cases' page size made 1: one call per case, with one token for all of them."""

    edit: Edit
    path: str
    token_path: str | None = None
    ordered: bool = False  # the pages keep the world's order


CASE_PAGES: dict[str, CasePages] = {
    "education": CasePages(
        replacing("size: 100", "size: 1"), "/education/api/v1/cases", "/education/oauth2/token"
    ),
    "housing": CasePages(replacing("size: 50", "size: 1"), "/housing/xml/cases"),
    "market-regulation": CasePages(
        replacing("limit: 100", "limit: 1"), "/market-regulation/api/cases", "/market-regulation/auth/token"
    ),
    "planning-land": CasePages(
        replacing("size: 200", "size: 1"), "/planning-land/api/anjian/list", ordered=True
    ),
}


@pytest.mark.parametrize(("department", "row"), param(CASE_PAGES))
async def test_cases_walk_every_page(connect: Connect, admin: Admin, department: str, row: CasePages) -> None:
    resident_id = busiest_applicant(WORLD, department)
    cases = cases_at(department, resident_id)
    assert len(cases) >= 2
    fetched = await connect(department, row.edit).adapter.cases(resident_id)
    assert len(fetched.value.records) == len(cases)
    if row.ordered:
        assert [r.id for r in fetched.value.records] == [c.ref for c in cases]
    paths = await admin.paths(department)
    assert paths.get(row.path) == len(cases)
    if row.token_path is not None:
        assert paths.get(row.token_path) == 1


# -- OAuth tokens -------------------------------------------------------------------------------------

# department -> (its token path, the fixture resident whose cases are asked, or None for the catalogue)
TOKENS: dict[str, tuple[str, str | None]] = {
    "education": ("/education/oauth2/token", None),
    "market-regulation": ("/market-regulation/auth/token", "veteran"),
    "utilities": ("/utilities/oauth/token", None),
}


@pytest.mark.parametrize(("department", "row"), param(TOKENS))
async def test_a_token_is_fetched_once_and_renewed_when_it_expires(
    connect: Connect, admin: Admin, department: str, row: tuple[str, str | None]
) -> None:
    token_path, name = row
    adapter = connect(department).adapter

    async def complete_answer() -> None:
        if name is None:
            fetched = await adapter.catalog()
            assert [r.id for r in fetched.value.records] == [s.code for s in WORLD.services_of(department)]
        else:
            resident_id = fixture(name).id_number
            cases = await adapter.cases(resident_id)
            assert_cases_arrived(cases.value.records, department, resident_id, WORDS[department])

    for _ in range(2):
        await complete_answer()
    assert (await admin.paths(department)).get(token_path) == 1
    async with admin.http.post(f"{admin.url}/_admin/tokens/expire") as response:
        assert response.status == 200
    await complete_answer()
    assert (await admin.paths(department)).get(token_path) == 2


# -- habits only one department has -----------------------------------------------------------------


async def test_agriculture_rural_head_has_his_contracted_land(connect: Connect) -> None:
    head = fixture("rural_head")
    answers = await connect("agriculture").adapter.facts([head.id_number])
    answer = answers[head.id_number]
    assert not isinstance(answer, UpstreamError)
    assert [r.land_contract_mu for r in answer.value.records] == [6.5] == [head.land_contract_mu]


async def test_culture_tourism_criteria_from_json_in_a_column(connect: Connect) -> None:
    fetched = await connect("culture-tourism").adapter.catalog()
    assert fetched.value.problems == ()
    by_id = {r.id: r for r in fetched.value.records}
    assert any(s.criteria for s in WORLD.services_of("culture-tourism"))
    for service in WORLD.services_of("culture-tourism"):
        got = [
            {"fact": c.fact, "op": c.op, "value": c.value, "text": c.text}
            for c in by_id[service.code].criteria
        ]
        assert got == expected_criteria(service)


async def test_culture_tourism_byte_order_mark_does_not_stick_to_the_first_column(connect: Connect) -> None:
    fetched = await connect("culture-tourism").adapter.catalog()
    assert [r.id for r in fetched.value.records] == [s.code for s in WORLD.services_of("culture-tourism")]


async def test_justice_no_credentials_are_sent_or_needed(connect: Connect, admin: Admin) -> None:
    fetched = await connect("justice").adapter.catalog()
    assert len(fetched.value.records) == len(WORLD.services_of("justice"))
    assert await admin.requests("justice") == 1  # one page of 50 holds the catalogue


async def test_tax_error_document_is_unavailable(connect: Connect, admin: Admin) -> None:
    await admin.fault("tax", error_rate=1)
    answers = await connect("tax").adapter.facts([unknown_resident_id()])
    failure = answers[unknown_resident_id()]  # a failed batch is every asked resident's failure
    assert isinstance(failure, UpstreamError) and failure.code is UpstreamCode.UNAVAILABLE


# planning-land sends only the day of every date (yyyyMMdd): its cases are checked day by day


def same_day(got: datetime | None, seeded: datetime | None) -> bool:
    """yyyyMMdd keeps only the day: a received moment is right when its Shanghai day is the seeded one."""
    if got is None or seeded is None:
        return got is seeded
    return got.astimezone(CST).date() == seeded.date()


def assert_cases_as_seeded(
    records: Sequence[CaseRecord], cases: Sequence[Case], words: dict[str, str]
) -> None:
    """The connector's cases are the seeded ones in order: canonical status, the pinyin word kept, the
    whole history in order with its notes, and every date on the seeded day."""
    assert [r.id for r in records] == [c.ref for c in cases]
    for record, case in zip(records, cases, strict=True):
        assert (record.service_id, record.resident_id) == (case.service, case.resident)
        assert record.status == case.status.value and record.department_status == words[case.status]
        assert [(e.status, e.department_status, e.note) for e in record.history] == [
            (e.status.value, words[e.status], e.note_zh) for e in case.history
        ]
        assert all(
            same_day(got.at, seeded.at) for got, seeded in zip(record.history, case.history, strict=True)
        )
        assert same_day(record.submitted_at, case.submitted_at)
        assert same_day(record.updated_at, case.updated_at)
        assert record.next_action == case.next_action
        expected_by = record.expected_completion
        assert (
            None if expected_by is None else expected_by.astimezone(CST).date()
        ) == case.expected_completion


async def test_planning_land_cases_of_residents_in_every_status(connect: Connect) -> None:
    """A few applicants whose cases, together, are in every status (the busiest first), and a fixture."""
    department = "planning-land"
    cases = WORLD.cases_of(department)
    chosen = [busiest_applicant(WORLD, department)] + [
        next(c.resident for c in cases if c.status is s) for s in CaseStatus
    ]
    planning = connect(department)
    for resident in [*dict.fromkeys(chosen), fixture("rural_head").id_number]:
        fetched = await planning.adapter.cases(resident)
        assert fetched.value.problems == ()
        seeded = [c for c in cases if c.resident == resident]
        assert seeded
        assert_cases_as_seeded(fetched.value.records, seeded, WORDS[department])
