"""submitApplication through the gateway over the real mock departments: checked against the service
(every problem listed), one case per (principal, key) however often and however concurrently it is
sent, department failures typed with nothing kept, and the attacks (submitting for somebody else)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from access.policy import Acting, Purpose
from identity.principal import Principal, Role
from resolvers.applications import (
    ApplicationError,
    ApplicationInput,
    claim_or_wait,
    fingerprint,
    problems,
    upstream_key,
)
from resolvers.applications import submit as submit_application
from store.db import create_engine, migrate, session_factory
from store.submission_book import Submission, SubmissionBook, SubmissionKey, Wanted
from tests.access_support import (
    ask,
    consent,
    fixture,
    my_id,
    resident_gateway,
    resident_token,
    staff_token,
    start_session,
)
from tests.appointments_support import error_codes, operator_token
from tests.conftest import Admin, Connect, Gateway, GatewayFactory

A = fixture("unemployed")
B = fixture("veteran")
SUBMIT = """mutation($in: SubmitApplicationInput!) {
  submitApplication(input: $in) { id reference status departmentStatus service { id } department { id } }
}"""
SERVICES = {
    "education": ("JY-001", ["居民身份证", "户口簿", "房产证或租赁合同"]),
    "housing": ("ZJ-001", ["居民身份证", "户口簿或居住证", "劳动合同", "住房情况证明"]),
    "planning-land": ("GH-001", ["居民身份证", "户口簿", "村民小组意见表", "建房位置示意图"]),
    "market-regulation": ("SC-001", ["居民身份证", "经营场所证明"]),
}


def application(department: str, key: str | None = None, **changes: Any) -> dict[str, Any]:
    service, documents = SERVICES[department]
    return {
        "serviceId": service,
        "idempotencyKey": key or secrets.token_hex(10),
        "documents": documents,
        "answers": [{"name": "联系电话", "value": "13800000000"}],
    } | changes


async def submit(gateway: Gateway, token: str | None, values: dict[str, Any]) -> dict[str, Any]:
    return await ask(gateway, token, SUBMIT, **{"in": values})


def case_of(body: dict[str, Any]) -> dict[str, Any]:
    assert not body.get("errors"), body
    case: dict[str, Any] = body["data"]["submitApplication"]
    return case


async def warm_catalogue(gateway: Gateway, service: str) -> None:
    """Read the catalogue before a fault: the service is then known from the cache."""
    body = await ask(gateway, None, "query($id: ID!) { service(id: $id) { id } }", id=service)
    assert body["data"]["service"] == {"id": service}


async def department_cases(connect: Connect, department: str, id_number: str) -> list[str]:
    """The resident's case references as the department itself lists them (no gateway cache)."""
    fetched = await connect(department).adapter.cases(id_number)
    return [c.id for c in fetched.value.records]


@pytest.mark.parametrize("department", sorted(SERVICES))
async def test_submitted_case_is_listed(department: str, make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(A)
    before = await ask(
        gateway, token, "query($d: ID!) { me { cases(departments: [$d]) { id } } }", d=department
    )
    case = case_of(await submit(gateway, token, application(department)))
    assert case["status"] == "SUBMITTED" and case["id"] == f"{department}:{case['reference']}"
    assert case["service"]["id"] == SERVICES[department][0] and case["department"]["id"] == department
    after = await ask(
        gateway, token, "query($d: ID!) { me { cases(departments: [$d]) { id } } }", d=department
    )
    ids = [c["id"] for c in after["data"]["me"]["cases"]]
    assert case["id"] in ids and case["id"] not in [c["id"] for c in before["data"]["me"]["cases"]]
    log = await ask(gateway, token, "{ me { accessLog(first: 50) { data departmentId purpose } } }")
    entry = {"data": "applications", "departmentId": department, "purpose": "APPLICATIONS"}
    assert entry in log["data"]["me"]["accessLog"]


async def test_a_retry_is_the_same_case(make_gateway: GatewayFactory, connect: Connect, admin: Admin) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(A)
    values = application("market-regulation")
    first = case_of(await submit(gateway, token, values))
    again = case_of(await submit(gateway, token, values | {"documents": list(reversed(values["documents"]))}))
    assert again["id"] == first["id"]
    other = case_of(await submit(gateway, token, application("market-regulation")))
    assert other["id"] != first["id"]
    listed = await department_cases(connect, "market-regulation", A.id_number)
    assert listed.count(first["reference"]) == 1 and listed.count(other["reference"]) == 1
    # the retry was answered by the gateway's own record: the department was asked twice, not three times
    assert (await admin.paths("market-regulation")).get("/market-regulation/api/applications") == 2
    # the same key from another resident is their own application, not A's case
    theirs = case_of(await submit(gateway, resident_token(B), values))
    assert theirs["id"] != first["id"]


async def test_key_reused_for_another_application(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(A)
    values = application("education")
    case_of(await submit(gateway, token, values))
    changed = values | {"answers": [{"name": "联系电话", "value": "13911111111"}]}
    assert error_codes(await submit(gateway, token, changed)) == ["IDEMPOTENCY_KEY_REUSED"]
    other_service = application("housing", key=values["idempotencyKey"])
    assert error_codes(await submit(gateway, token, other_service)) == ["IDEMPOTENCY_KEY_REUSED"]


async def test_every_problem_is_listed(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    values = application(
        "education",
        key="short",
        documents=["居民身份证", "居民身份证", "结婚证"],
        answers=[{"name": "", "value": "x"}, {"name": "", "value": "y"}],
    )
    body = await submit(gateway, resident_token(A), values)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    listed = {(p["field"], p["message"]) for p in body["errors"][0]["extensions"]["problems"]}
    assert ("documents", "missing required document: 户口簿") in listed
    assert ("documents", "missing required document: 房产证或租赁合同") in listed
    assert ("documents", "not a document this service asks for: 结婚证") in listed
    assert ("documents", "a document is listed twice") in listed
    assert ("answers", "a question is answered twice") in listed
    assert {f for f, _ in listed} == {"idempotencyKey", "documents", "answers"}
    assert body["data"] is None


@pytest.mark.parametrize(
    "service,why",
    [("XX-404", "no service with this id"), ("MZ-001", "does not take applications")],
)
async def test_services_that_cannot_be_applied_for(
    make_gateway: GatewayFactory, service: str, why: str
) -> None:
    gateway = await resident_gateway(make_gateway)
    body = await submit(gateway, resident_token(A), application("education", serviceId=service, documents=[]))
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert why in body["errors"][0]["message"]


async def test_department_failure_keeps_nothing(
    make_gateway: GatewayFactory, admin: Admin, connect: Connect
) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(A)
    values = application("housing")
    await warm_catalogue(gateway, "ZJ-001")
    await admin.fault("housing", error_rate=1.0)
    failed = await submit(gateway, token, values)
    assert error_codes(failed) == ["UPSTREAM_UNAVAILABLE"]
    assert failed["errors"][0]["extensions"]["department"] == "housing"
    book = SubmissionBook(gateway.services.sessions)
    key = SubmissionKey(gateway.services.digester.of(A.id_number), values["idempotencyKey"])
    assert await book.get(key) is None  # the key points at nothing
    await admin.clear_faults()
    case = case_of(await submit(gateway, token, values))
    assert (await department_cases(connect, "housing", A.id_number)).count(case["reference"]) == 1


async def test_timeout_then_retry_makes_one_case(
    make_gateway: GatewayFactory, admin: Admin, connect: Connect
) -> None:
    """The department is slower than the gateway waits: each attempt (the gateway retries: the key is
    sent) times out, yet the department makes the case. The client's retry gets that case, not a
    second one."""
    gateway = await resident_gateway(make_gateway)
    token = resident_token(A)
    values = application("education")
    before = await department_cases(connect, "education", A.id_number)
    await warm_catalogue(gateway, "JY-001")
    await admin.fault("education", latency_ms=1000)
    assert error_codes(await submit(gateway, token, values)) == ["UPSTREAM_TIMEOUT"]
    await admin.clear_faults()
    # no wait here: the mocks cancel a handler whose client gave up (handler_cancellation), so the slow
    # attempts ended at the department when the gateway's deadline passed
    case = case_of(await submit(gateway, token, values))
    made = [r for r in await department_cases(connect, "education", A.id_number) if r not in before]
    assert made == [case["reference"]]


async def test_concurrent_identical_submissions_make_one_case(
    make_gateway: GatewayFactory, database_url: str, connect: Connect, admin: Admin
) -> None:
    """Twelve at once: one claims the key and calls the department, the others wait for its case."""
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    token = resident_token(B)
    values = application("planning-land")
    before = await department_cases(connect, "planning-land", B.id_number)
    bodies = await asyncio.gather(*(submit(gateway, token, values) for _ in range(12)))
    ids = {case_of(b)["id"] for b in bodies}
    assert len(ids) == 1
    made = [r for r in await department_cases(connect, "planning-land", B.id_number) if r not in before]
    assert len(made) == 1 and f"planning-land:{made[0]}" in ids
    assert (await admin.paths("planning-land")).get("/planning-land/api/anjian/shenqing") == 1


async def test_a_claim_left_by_a_dead_process_is_taken_over(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    values = application("education")
    form = ApplicationInput(
        "JY-001", values["idempotencyKey"], tuple(values["documents"]), (("联系电话", "13800000000"),)
    )
    book = SubmissionBook(gateway.services.sessions)
    digest = gateway.services.digester.of(A.id_number)
    key = SubmissionKey(digest, values["idempotencyKey"])
    wanted = Wanted(fingerprint(form, digest), digest, "JY-001", "education")
    stale = await book.claim(key, wanted, datetime.now(UTC) - timedelta(minutes=5))
    assert stale is not None
    case = case_of(await submit(gateway, resident_token(A), values))
    kept = await book.get(key)
    assert kept is not None and kept.done and f"education:{kept.case_ref}" == case["id"]


async def test_attacks_submitting_for_somebody_else(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    b_id = await my_id(gateway, resident_token(B))
    values = application("education")
    assert error_codes(await submit(gateway, resident_token(A), values | {"residentId": b_id})) == [
        "FORBIDDEN"
    ]
    assert error_codes(await submit(gateway, resident_token(A), values | {"residentId": "R1.forged"})) == [
        "FORBIDDEN"
    ]
    assert error_codes(await submit(gateway, None, values)) == ["UNAUTHENTICATED"]
    assert error_codes(await submit(gateway, operator_token(), values)) == ["FORBIDDEN"]
    staff = staff_token()
    assert error_codes(await submit(gateway, staff, values | {"residentId": b_id})) == ["CONSENT_REQUIRED"]
    assert error_codes(await submit(gateway, staff, values)) == ["FORBIDDEN"]
    listed = await ask(gateway, resident_token(B), '{ me { cases(departments: ["education"]) { id } } }')
    assert listed["data"]["me"]["cases"] == [] or all(
        not c["id"].startswith("education:JY2026") for c in listed["data"]["me"]["cases"]
    )


async def test_staff_submit_with_consent(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    staff = staff_token()
    session = await start_session(gateway, staff, B, ["APPLICATIONS", "CASES"])
    assert not (await consent(gateway, resident_token(B), session["id"])).get("errors")
    case = case_of(
        await submit(gateway, staff, application("housing") | {"residentId": session["residentId"]})
    )
    mine = await ask(gateway, resident_token(B), '{ me { cases(departments: ["housing"]) { id } } }')
    assert case["id"] in [c["id"] for c in mine["data"]["me"]["cases"]]


def test_problems_of_the_form_alone() -> None:
    form = ApplicationInput("JY-001", "k" * 65, ("a",) * 31, tuple((f"q{i}", "v" * 2001) for i in range(51)))
    fields = [p.field for p in problems(form, None, None)]
    assert fields.count("idempotencyKey") == 1 and "serviceId" in fields
    assert fields.count("answers") >= 2 and "documents" in fields


def test_keys_and_fingerprints() -> None:
    assert upstream_key("a", "key-12345") != upstream_key("b", "key-12345")
    assert len(upstream_key("a", "key-12345")) == 40
    one = ApplicationInput("JY-001", "key-12345", ("x", "y"), (("q", "1"),))
    two = ApplicationInput("JY-001", "key-12345", ("y", "x"), (("q", "1"),))
    assert fingerprint(one, "r") == fingerprint(two, "r") != fingerprint(one, "s")


async def test_a_live_claim_is_waited_for_then_refused_in_time(database_url: str) -> None:
    """Somebody else holds the claim and is still at the department: wait (bounded), then say so."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        book = SubmissionBook(session_factory(engine))
        key = SubmissionKey("principal", "key-00000001")
        wanted = Wanted("fingerprint", "resident", "JY-001", "education")
        held = await book.claim(key, wanted, datetime.now(UTC))
        assert held is not None and not isinstance(held, Submission)
        started = asyncio.get_running_loop().time()
        with pytest.raises(ApplicationError) as waited:
            await claim_or_wait(book, key, wanted, lease_s=60, wait_s=0.4)
        assert waited.value.code == "SUBMISSION_IN_PROGRESS"
        assert 0.3 < asyncio.get_running_loop().time() - started < 5
        other = Wanted("another", "resident", "JY-001", "education")
        with pytest.raises(ApplicationError) as reused:
            await claim_or_wait(book, key, other, lease_s=60, wait_s=0.4)
        assert reused.value.code == "IDEMPOTENCY_KEY_REUSED"
        await book.release(held)  # a failed call: the key is free again, a retry claims it
        again = await claim_or_wait(book, key, wanted, lease_s=60, wait_s=0.4)
        assert not isinstance(again, Submission) and again.token != held.token
    finally:
        await engine.dispose()


class _SlowAdapter:
    """A department that never answers (the client gives up first)."""

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def submit(self, application: Any) -> Any:
        self.called.set()
        await asyncio.Event().wait()  # never set: no answer comes


class _Department:
    """Just what ``submit`` reads of a department: its id, adapter and deadline."""

    id = "education"

    def __init__(self, adapter: _SlowAdapter) -> None:
        self.adapter = adapter
        self.spec = SimpleNamespace(policy=SimpleNamespace(deadline_s=1.0))


async def test_a_cancelled_submission_keeps_nothing(database_url: str) -> None:
    """The request is cancelled while the department is being asked (client gone, server stopping):
    the claim is released, so a retry starts over instead of waiting for a submission nobody makes."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        book = SubmissionBook(session_factory(engine))
        adapter = _SlowAdapter()
        digest = "resident-a-digest"
        acting = Acting(
            Principal(A.id_number, Role.RESIDENT), A.id_number, None, Purpose.APPLICATIONS, digest, digest
        )
        form = ApplicationInput("JY-001", "key-cancelled-1", ("居民身份证",), ())
        task = asyncio.create_task(submit_application(book, _Department(adapter), acting, form))  # type: ignore[arg-type]
        await asyncio.wait_for(adapter.called.wait(), 5)
        key = SubmissionKey(digest, "key-cancelled-1")
        assert await book.get(key) is not None  # claimed while in flight
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await book.get(key) is None
    finally:
        await engine.dispose()
