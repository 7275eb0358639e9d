"""What every department's gateway test checks the same way: the catalogue through GraphQL against
the seeded world, cases against the world's, and residents to ask about."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Iterable, Sequence
from datetime import datetime
from typing import Any

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from domain.records import CaseRecord
from mocks.world import (
    CST,
    DEFAULT_SEED,
    FIXTURE_RESIDENTS,
    Case,
    Channel,
    CriterionValue,
    Resident,
    Service,
    World,
    build_world,
)
from tests.conftest import Admin, Connect, Gateway
from tests.mocks.support import unknown_id

WORLD = build_world(DEFAULT_SEED)

CANONICAL_CHANNELS = {
    Channel.WINDOW: "STATION",
    Channel.ONLINE: "ONLINE",
    Channel.APP: "APP",
    Channel.WECHAT: "WECHAT",
    Channel.KIOSK: "KIOSK",
}
SERVICES = """query($departments: [ID!]) {
  services(first: 100, filter: {departments: $departments}) {
    totalCount
    edges { node { id name nameEn description category channels feeFen processingDays requiredDocuments
                   updatedAt department { id } criteria { fact op value text } } }
  }
}"""


# -- shared helpers ------------------------------------------------------------------------------


def canonical_value(value: CriterionValue) -> str:
    """A world criterion value as the gateway's canonical text: 65 -> "65", True -> "true"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def expected_criteria(service: Service) -> list[dict[str, str]]:
    return [
        {"fact": c.fact, "op": c.op, "value": canonical_value(c.value), "text": c.text_zh}
        for c in service.criteria
    ]


async def catalogue_via_graphql(gateway: Gateway, department: str) -> dict[str, dict[str, Any]]:
    """The department's services as GraphQL nodes by id, asserting the query had no errors."""
    body = await gateway.query(SERVICES, {"departments": [department]})
    assert "errors" not in body, body["errors"]
    page = body["data"]["services"]
    nodes = {edge["node"]["id"]: edge["node"] for edge in page["edges"]}
    assert page["totalCount"] == len(nodes)
    return nodes


def assert_catalogue_arrived(
    nodes: dict[str, dict[str, Any]],
    department: str,
    category: str,
    *,
    same_instant: bool = True,
) -> None:
    """Every service of the department's world catalogue arrived, field by field.

    `same_instant=False` for departments that send only the day.
    """
    seeded = WORLD.services_of(department)
    assert set(nodes) == {s.code for s in seeded}
    for service in seeded:
        node = nodes[service.code]
        assert node["department"] == {"id": department}
        assert node["name"] == service.name_zh
        assert node["nameEn"] == service.name_en
        assert node["description"] == service.description
        assert node["category"] == category
        assert node["feeFen"] == service.fee_fen
        assert node["processingDays"] == service.processing_days
        assert node["requiredDocuments"] == list(service.documents)
        assert node["channels"] == [CANONICAL_CHANNELS[c] for c in service.channels]
        updated = datetime.fromisoformat(node["updatedAt"])
        if same_instant:
            assert updated == service.updated_at, service.code
        else:
            assert updated.astimezone(CST).date() == service.updated_at.date(), service.code
        assert node["criteria"] == expected_criteria(service), service.code


def cases_at(department: str, resident_id: str) -> list[Case]:
    return [c for c in WORLD.cases_of_resident(resident_id) if c.department == department]


def busiest_applicant(world: World, department: str) -> str:
    """The resident with the most cases at `department` (the first of them on a tie)."""
    counts: dict[str, int] = {}
    for case in world.cases_of(department):
        counts[case.resident] = counts.get(case.resident, 0) + 1
    return max(counts, key=lambda r: counts[r])


def assert_cases_arrived(
    records: Iterable[CaseRecord],
    department: str,
    resident_id: str,
    words: dict[str, str],
) -> None:
    """The records are exactly the resident's cases at the department: canonical status as in the
    world, the department's own word kept (`words`: canonical -> word), history in order."""
    got = {r.id: r for r in records}
    expected = cases_at(department, resident_id)
    assert expected, "pick a resident with cases"
    assert set(got) == {c.ref for c in expected}
    for case in expected:
        record = got[case.ref]
        assert record.department == department
        assert record.resident_id == resident_id
        assert record.service_id == case.service
        assert record.status == case.status.value
        assert record.department_status == words[case.status.value]
        assert record.submitted_at == case.submitted_at
        assert record.updated_at == case.updated_at
        assert record.next_action == case.next_action
        completion = record.expected_completion
        assert (None if completion is None else completion.astimezone(CST).date()) == (
            case.expected_completion
        )
        assert [(e.at, e.status.value, e.department_status, e.note) for e in record.history] == [
            (e.at, e.status.value, words[e.status.value], e.note_zh) for e in case.history
        ]


unknown_resident_id = unknown_id  # a well-formed ID number nobody in the world has


def fixture(name: str) -> Resident:
    return WORLD.residents[FIXTURE_RESIDENTS[name]]


def sample_residents(count: int) -> list[Resident]:
    """Every fixture and an even spread of the others."""
    fixtures = list(WORLD.residents[: len(FIXTURE_RESIDENTS)])
    rest = WORLD.residents[len(FIXTURE_RESIDENTS) :]
    step = max(1, len(rest) // max(1, count - len(fixtures)))
    return fixtures + list(rest[::step][: count - len(fixtures)])


# -- medical-insurance ---------------------------------------------------------------------------


async def facts_records(connect: Connect, department: str, residents: Sequence[Resident]) -> dict[str, Any]:
    """Each resident's fact records from `department`, asserting none of them came back as an error.

    Every facts test starts this way; what the records must equal is the department's own business.
    """
    answers = await connect(department).adapter.facts([r.id_number for r in residents])
    records: dict[str, Any] = {}
    for resident in residents:
        answer = answers[resident.id_number]
        assert not isinstance(answer, UpstreamError), answer
        records[resident.id_number] = answer.value.records
    return records


async def assert_facts_batched(
    connect: Connect, admin: Admin, department: str, path: str, count: int, batch: int
) -> None:
    """Facts for the first `count` residents arrive, asked in `ceil(count / batch)` calls to `path`."""
    ids = [r.id_number for r in WORLD.residents[:count]]
    answers = await connect(department).adapter.facts(ids)
    assert set(answers) == set(ids)
    assert (await admin.paths(department)).get(path) == math.ceil(count / batch)


async def auth_failure(call: Awaitable[object], department: str) -> UpstreamError:
    """The error `call` raises, checked to be `department`'s AUTH_FAILED; callers check the rest."""
    with pytest.raises(UpstreamError) as caught:
        await call
    assert caught.value.code is UpstreamCode.AUTH_FAILED and caught.value.department == department
    return caught.value


# -- failures, unknown residents, status words -----------------------------------------------------


def no_retries(template: str) -> str:
    """A connector template with retries off, so the first failure is the answer."""
    return template + "policy: {retries: 0}\n"


async def unavailable(call: Awaitable[object]) -> UpstreamError:
    """The error `call` raises, checked to be UNAVAILABLE; callers check the rest."""
    with pytest.raises(UpstreamError) as caught:
        await call
    assert caught.value.code is UpstreamCode.UNAVAILABLE
    return caught.value


async def facts_beside_unknown(connect: Connect, department: str, known_id: str) -> tuple[Any, ...]:
    """`known_id`'s fact records, asked in one call with a resident nobody is: the unknown one is an
    empty answer (not an error), and so is neither of them an error."""
    answers = await connect(department).adapter.facts([unknown_resident_id(), known_id])
    unknown = answers[unknown_resident_id()]
    assert not isinstance(unknown, UpstreamError) and unknown.value.records == ()
    known_answer = answers[known_id]
    assert not isinstance(known_answer, UpstreamError)
    records: tuple[Any, ...] = known_answer.value.records
    return records


async def assert_unknown_resident_has_no_cases(connect: Connect, department: str) -> None:
    fetched = await connect(department).adapter.cases(unknown_resident_id())
    assert fetched.value.records == () and fetched.value.problems == ()


async def assert_every_status_maps(connect: Connect, department: str, words: dict[str, str]) -> None:
    """For each canonical status (`words`: canonical -> the department's word), a case in it arrives
    with both."""
    adapter = connect(department).adapter
    for status, word in words.items():
        case = next(c for c in WORLD.cases_of(department) if c.status.value == status)
        fetched = await adapter.cases(case.resident)
        record = next(r for r in fetched.value.records if r.id == case.ref)
        assert (record.status, record.department_status) == (status, word)


async def assert_cases_fetched(
    connect: Connect, department: str, resident_id: str, words: dict[str, str]
) -> tuple[CaseRecord, ...]:
    """The resident's cases, fetched without problems and as `assert_cases_arrived` wants them."""
    fetched = await connect(department).adapter.cases(resident_id)
    assert fetched.value.problems == ()
    records: tuple[CaseRecord, ...] = fetched.value.records
    assert_cases_arrived(records, department, resident_id, words)
    return records
