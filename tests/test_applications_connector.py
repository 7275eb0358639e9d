"""The ``applications`` operation of the connector language, over the real mock departments: each of the
four departments' habits (key in a header or in the body; JSON, XML) gives one case per key; values are
escaped for the format; a submission is retried only when the department gets the key."""

from __future__ import annotations

import re
import secrets

import pytest

from connectors.applications import Application, fill, sends_key
from connectors.errors import UpstreamCode, UpstreamError
from connectors.spec import Submission, parse_spec
from domain.records import CaseStatus
from mocks.people import FIXTURE_RESIDENTS
from tests.conftest import SPECS, Admin, Connect, fast_policy
from tests.mocks.support import WORLD

RESIDENT = WORLD.residents[FIXTURE_RESIDENTS["unemployed"]].id_number
SERVICES = {
    "education": "JY-001",
    "housing": "ZJ-001",
    "planning-land": "GH-001",
    "market-regulation": "SC-001",
}


def application(service: str, key: str | None = None, **extra: object) -> Application:
    record = WORLD.service(service)
    assert record is not None
    return Application(
        resident_id=RESIDENT,
        service_id=service,
        idempotency_key=key or secrets.token_hex(12),
        documents=tuple(record.documents),
        answers={"电话": '138 "0000" <&> 0000'},
    )


@pytest.mark.parametrize("department", sorted(SERVICES))
async def test_submit_gives_a_case_once_per_key(department: str, connect: Connect) -> None:
    connector = connect(department, edit=fast_policy)
    one = application(SERVICES[department])
    case = await connector.adapter.submit(one)
    assert case.status is CaseStatus.SUBMITTED and case.service_id == SERVICES[department]
    assert case.department == department and case.resident_id == RESIDENT
    again = await connector.adapter.submit(one)
    assert again.id == case.id
    other = await connector.adapter.submit(application(SERVICES[department]))
    assert other.id != case.id
    listed = await connector.adapter.cases(RESIDENT)
    ids = [c.id for c in listed.value.records]
    assert ids.count(case.id) == 1 and other.id in ids


def test_values_are_escaped_for_the_format() -> None:
    one = application("ZJ-001")
    how = Submission(
        document_template="<d>{document}</d>",
        document_separator="",
        answer_template='<a n="{name}">{value}</a>',
    )
    xml = fill(one, how, "xml")
    assert "&lt;&amp;&gt;" in xml["answers"] and "&quot;0000&quot;" in xml["answers"]
    assert xml["documents"].startswith("<d>居民身份证</d>")
    json_fill = fill(one, None, "json")
    assert '\\"0000\\"' in json_fill["answers"]
    assert json_fill["answers_json"] == '{"电话": "138 \\"0000\\" <&> 0000"}'
    assert fill(one, None, "plain")["answers"] == '电话=138 "0000" <&> 0000'


@pytest.mark.parametrize("key", ["short", "has space in it", "x" * 65, "é" * 10])
def test_keys_are_plain(key: str) -> None:
    with pytest.raises(ValueError):
        application("JY-001", key=key)


async def test_retried_with_the_key(connect: Connect, admin: Admin) -> None:
    """The department fails every call: with the key the submission is sent 1 + retries times."""
    connector = connect("housing", edit=lambda t: fast_policy(t, retries=2, breaker_failures=50))
    assert sends_key(connector.spec.operations["applications"])
    await admin.fault("housing", error_rate=1.0)
    with pytest.raises(UpstreamError) as failed:
        await connector.adapter.submit(application("ZJ-001"))
    assert failed.value.code is UpstreamCode.UNAVAILABLE
    assert (await admin.paths("housing")).get("/housing/xml/applications") == 3


async def test_never_retried_without_the_key(connect: Connect, admin: Admin) -> None:
    """A spec that does not send the key: one attempt only, whatever the policy says."""

    def without_key(text: str) -> str:
        return fast_policy(text.replace("<requestNo>{idempotency_key}</requestNo>", ""), retries=3)

    connector = connect("housing", edit=without_key)
    assert not sends_key(connector.spec.operations["applications"])
    await admin.fault("housing", error_rate=1.0)
    with pytest.raises(UpstreamError):
        await connector.adapter.submit(application("ZJ-001"))
    assert (await admin.paths("housing")).get("/housing/xml/applications") == 1


async def test_refused_application_is_a_typed_failure(connect: Connect) -> None:
    connector = connect("market-regulation", edit=fast_policy)
    with pytest.raises(UpstreamError) as refused:
        await connector.adapter.submit(application("JY-001"))  # not a market-regulation service
    assert refused.value.code is UpstreamCode.BAD_RESPONSE


@pytest.mark.parametrize(
    "change,problem",
    [
        (
            ("method: POST\n    path: /api/v1/applications", "method: GET\n    path: /api/v1/applications"),
            "POST",
        ),
        (('"itemCode": "{service_id}"', '"itemCode": "JY-001"'), "needs {service_id}"),
        (("{answers_json}", "{answer_json}"), "unknown placeholder {answer_json}"),
        (
            ("    public: false\n    mapping: *case_mapping", "    mapping: *case_mapping"),
            "public",
        ),
        (
            ("  cases:\n    path: /api/v1/cases", "  cases:\n    submission: {}\n    path: /api/v1/cases"),
            "only applications submit",
        ),
    ],
)
def test_spec_problems_of_applications(change: tuple[str, str], problem: str) -> None:
    text = (SPECS / "education.yaml").read_text(encoding="utf-8")
    assert text.count(change[0]) == 1
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_spec(text.replace(*change), {})


async def test_applications_are_never_read(connect: Connect, admin: Admin) -> None:
    """Nothing but submit() sends an application (a probe or a loader asking 'run' would make cases)."""
    connector = connect("education", edit=fast_policy)
    with pytest.raises(LookupError):
        await connector.adapter.run("applications", RESIDENT)
    assert "/education/api/v1/applications" not in await admin.paths("education")
