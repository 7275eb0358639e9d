"""Issue 14's findings, each tried as the attack: a request never ends in a 500, and refuses cleanly."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry

from connectors.resilience import Fetched
from domain.records import OperationResult
from identity.principal import Role
from identity.tokens import mint
from resolvers.loaders import Loaders
from resolvers.notices import Notices
from schema.errors import Schema
from tests.access_support import (
    SECRET,
    WORLD,
    ask,
    bearer,
    codes,
    consent,
    fixture,
    my_id,
    refused,
    resident_gateway,
    resident_token,
    staff_token,
    start_session,
)
from tests.conftest import Admin, Gateway, GatewayFactory
from tests.live_support import until

pytestmark = pytest.mark.asyncio


# -- finding 1: a bad argument beside a fan-out cancels nothing into a 500 --------------------------

CANCELLING = [
    "{ services(first:1) { totalCount } me { eligibility { outcome } accessLog(first:-1) { at } } }",
    '{ service(id:"GH-001") { id } me { eligibility { outcome } accessLog(first:-1) { at } } }',
]


@pytest.mark.parametrize("query", CANCELLING)
async def test_a_bad_argument_beside_a_fan_out_is_a_typed_error_not_a_500(
    make_gateway: GatewayFactory, query: str
) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(fixture("senior_pudong"))
    response = await gateway.client.post("/graphql", json={"query": query}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    # the bad argument's error, typed and naming it; nothing cancelled shows up as an error of its own
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", ["me", "accessLog"])
    ], body
    assert body["errors"][0]["extensions"]["argument"] == "first"
    # `me` is non-null, so the spec nulls `data` (graphql-core then cancels the sibling fan-out)
    assert body["data"] is None


async def test_a_waiter_cancelled_leaves_a_shared_department_answer_to_the_others() -> None:
    """The mechanism: two fields share one DataLoader future; cancelling one cancels only that one."""
    release = asyncio.Event()
    registry = _OneDepartment(release)
    loaders = Loaders(registry, Notices())  # type: ignore[arg-type]
    cancelled = asyncio.ensure_future(loaders.gather(loaders.catalog, "catalog", ["dept"], ("a",)))
    survivor = asyncio.ensure_future(loaders.gather(loaders.catalog, "catalog", ["dept"], ("b",)))
    await until(lambda: registry.calls == 1)
    cancelled.cancel()
    release.set()
    assert await asyncio.wait_for(survivor, 2) == ["record"]
    assert cancelled.cancelled()
    assert not loaders.notices.failures


@dataclass
class _Adapter:
    release: asyncio.Event
    owner: _OneDepartment

    def run_now(self, capability: str) -> None:
        return None  # nothing cached: every read goes through the loader and waits

    async def run(self, capability: str) -> Fetched[OperationResult[str]]:
        self.owner.calls += 1
        await self.release.wait()
        return Fetched(OperationResult(("record",)))


class _OneDepartment:
    def __init__(self, release: asyncio.Event) -> None:
        self.calls = 0
        self.adapter = _Adapter(release, self)

    def get(self, department_id: str) -> _OneDepartment:
        return self


async def test_a_stray_cancellation_in_a_resolver_is_a_typed_error_not_an_exception() -> None:
    """The last shield (``schema.errors.Schema.execute``): whatever the field, never a 500."""

    @strawberry.type
    class Query:
        @strawberry.field
        async def broken(self) -> int:
            raise asyncio.CancelledError  # as a shared future cancelled by another field delivers it

    result = await Schema(query=Query).execute("{ broken }")
    assert result.errors is not None
    assert [e.extensions for e in result.errors] == [{"code": "INTERNAL_SERVER_ERROR"}]


async def test_a_real_cancellation_of_the_request_still_propagates() -> None:
    started = asyncio.Event()

    @strawberry.type
    class Query:
        @strawberry.field
        async def slow(self) -> int:
            started.set()
            await asyncio.Event().wait()
            return 1

    task = asyncio.ensure_future(Schema(query=Query).execute("{ slow }"))
    await asyncio.wait_for(started.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- finding 2: control characters and unbounded strings are refused at the edge, on every field ------

ADMIN = "admin-health"


def _admin_token() -> str:
    return mint(SECRET, ADMIN, Role.DEPT_ADMIN, department="health")


def _resident_token() -> str:
    return resident_token(fixture("senior_pudong"))


def _operator_token() -> str:
    return mint(SECRET, "operator-1", Role.OPERATOR)


# (who asks, the operation with `$v` where the string goes, the argument named in the refusal)
NUL_FIELDS: list[tuple[Callable[[], str], str, str]] = [
    (
        lambda: resident_token(fixture("senior_pudong")),
        "mutation($v: ID!) { consentToAssistedSession(id: $v) { id } }",
        "id",
    ),
    (
        lambda: resident_token(fixture("senior_pudong")),
        "mutation($v: ID!) { revokeAssistedSession(id: $v) { id } }",
        "id",
    ),
    (staff_token, "mutation($v: ID!) { endAssistedSession(id: $v) { id } }", "id"),
    (
        lambda: resident_token(fixture("senior_pudong")),
        "mutation($v: ID!) { cancelAppointment(id: $v) { id } }",
        "id",
    ),
    (_admin_token, "query($v: String!) { connector(department: $v) { department } }", "department"),
    (_admin_token, "query($v: String!) { connectorDiff(department: $v) }", "department"),
    (_admin_token, "mutation($v: String!) { enableConnector(department: $v) }", "department"),
    (_admin_token, "mutation($v: String!) { disableConnector(department: $v) }", "department"),
    (_admin_token, "mutation($v: String!) { rollbackConnector(department: $v) }", "department"),
    (_admin_token, "query($v: String) { connectorAudit(department: $v) { action } }", "department"),
]


def _literal(operation: str, value: str) -> str:
    """The same operation with the value written into the document (a GraphQL string literal)."""
    body = operation.split(")", 1)[1].strip()
    escaped = "".join(c if c.isalnum() else f"\\u{ord(c):04x}" for c in value)
    return ("mutation " if operation.startswith("mutation") else "query ") + body.replace(
        "$v", f'"{escaped}"'
    )


# (a lone surrogate never gets this far: the body is refused as not JSON, 400 BAD_REQUEST)
BAD_STRINGS = ["tax\x00", "a\x1fb", "x\u0085", "x\x7f", "line\nbreak", "x" * 1001]


@pytest.mark.parametrize(("who", "operation", "argument"), NUL_FIELDS)
async def test_a_bad_string_is_bad_user_input_naming_the_argument_on_every_database(
    make_gateway: GatewayFactory,
    database_url: str,
    who: Callable[[], str],
    operation: str,
    argument: str,
) -> None:
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    for bad in BAD_STRINGS:
        attempts = [(operation, {"v": bad}, "$v"), (_literal(operation, bad), {}, argument)]
        for document, variables, named in attempts:
            response = await gateway.client.post(
                "/graphql",
                content=json.dumps({"query": document, "variables": variables}),
                headers={**bearer(who()), "accept": "application/json", "content-type": "application/json"},
            )
            assert response.status_code == 200, response.text
            errors = response.json()["errors"]
            assert [(e["extensions"]["code"], e["extensions"]["argument"]) for e in errors] == [
                ("BAD_USER_INPUT", named)
            ], (bad, errors)
            assert "data" not in response.json()  # refused before anything ran: nothing half-written


@pytest.mark.parametrize("department", ["tax", "t" * 41, "x" * 1000])
async def test_a_refused_admin_read_keeps_its_audit_row_on_every_database(
    make_gateway: GatewayFactory, database_url: str, department: str
) -> None:
    """A department admin probing another department is refused *and* leaves a trace, whatever the
    name they tried (PostgreSQL refused to store a name longer than its column, and the row was lost)."""
    gateway = await resident_gateway(make_gateway, database_url=database_url)
    probe = await gateway.client.post(
        "/graphql",
        json={
            "query": "query($d: String!) { connector(department: $d) { department } }",
            "variables": {"d": department},
        },
        headers=bearer(_admin_token()),
    )
    assert [e["extensions"]["code"] for e in probe.json()["errors"]] == ["FORBIDDEN"], probe.text
    trail = await gateway.client.post(
        "/graphql",
        json={"query": "{ connectorAudit { actor department outcome } }"},
        headers=bearer(_operator_token()),
    )
    rows = trail.json()["data"]["connectorAudit"]
    assert {"actor": ADMIN, "department": department[:40], "outcome": "forbidden"} in rows, trail.text


async def test_free_text_keeps_its_line_breaks_and_nothing_else_does(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    spec = "id: x\nname: y\n\tindented: z\r\n"
    body = (
        await gateway.client.post(
            "/graphql",
            json={
                "query": "mutation($s: String!) { validateConnector(spec: $s) { ok } }",
                "variables": {"s": spec},
            },
            headers=bearer(_admin_token()),
        )
    ).json()
    assert "errors" not in body and body["data"]["validateConnector"]["ok"] is False, body  # checked as YAML
    refused = (
        await gateway.client.post(
            "/graphql",
            json={
                "query": "mutation($s: String!) { validateConnector(spec: $s) { ok } }",
                "variables": {"s": spec + "\x00"},
            },
            headers=bearer(_admin_token()),
        )
    ).json()
    assert refused["errors"][0]["extensions"]["argument"] == "$s"


# -- finding 3: a subscription sent as a plain request is refused, typed ----------------------------

SUBSCRIPTION = "subscription { caseUpdated { changedAt } }"


@pytest.mark.parametrize(
    ("method", "accept", "status"),
    [
        ("POST", "application/json", 200),
        ("POST", "application/graphql-response+json", 400),
        ("GET", "application/json", 200),
        ("GET", "application/graphql-response+json", 400),
    ],
)
async def test_a_subscription_over_plain_http_is_refused_with_a_typed_error(
    make_gateway: GatewayFactory, method: str, accept: str, status: int
) -> None:
    gateway = await resident_gateway(make_gateway)
    headers = {**bearer(_resident_token()), "accept": accept}
    if method == "POST":
        response = await gateway.client.post("/graphql", json={"query": SUBSCRIPTION}, headers=headers)
    else:
        response = await gateway.client.get("/graphql", params={"query": SUBSCRIPTION}, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(accept)
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["SUBSCRIPTION_NOT_SUPPORTED_OVER_HTTP"]
    assert "data" not in body


# -- finding 7: a hanging department costs the request its deadline, no more -----------------------

# a department policy whose own bounds are far longer than the request's deadline: attempts end at
# the mocks' hang limit (0.3 s, then 504) and are retried until the department's 6 s deadline
SLOW_POLICY = {"timeout_s": 1.0, "deadline_s": 6, "retries": 10, "backoff_s": 0.01, "breaker_failures": 1000}
REQUEST_DEADLINE_S = 0.5
MARGIN_S = 1.0


async def test_a_hanging_department_costs_the_request_its_deadline_and_no_more(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await make_gateway(policy=SLOW_POLICY, request_deadline_s=REQUEST_DEADLINE_S)
    await admin.fault("health", hang=True)
    started = time.monotonic()
    body = await gateway.query("{ services(first: 100) { edges { node { id department { id } } } } }")
    elapsed = time.monotonic() - started
    assert elapsed < REQUEST_DEADLINE_S + MARGIN_S, elapsed
    failures = [(e["extensions"]["code"], e["extensions"].get("department")) for e in body["errors"]]
    assert failures == [("UPSTREAM_TIMEOUT", "health")], body["errors"]
    departments = {e["node"]["department"]["id"] for e in body["data"]["services"]["edges"]}
    assert departments and "health" not in departments  # the others' services came back


# -- finding 6: consent scope, pending requests bounded, one spelling per opaque id -----------------

ACCOUNTS = "query($id: ID!) { resident(id: $id) { accounts { number } } }"


async def test_account_numbers_are_bills_data_not_profile(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    resident, staff = fixture("senior_pudong"), staff_token()
    profile_only = await start_session(gateway, staff, resident, ["PROFILE"])
    await consent(gateway, resident_token(resident), profile_only["id"])
    refused(await ask(gateway, staff, ACCOUNTS, id=profile_only["residentId"]), "CONSENT_REQUIRED")

    bills = await start_session(gateway, staff, resident, ["BILLS"])
    await consent(gateway, resident_token(resident), bills["id"])
    body = await ask(gateway, staff, ACCOUNTS, id=bills["residentId"])
    assert not body.get("errors") and body["data"]["resident"]["accounts"], body


START = """mutation($n: String!) {
  startAssistedSession(idNumber: $n, purposes: [PROFILE], minutes: 5) { id }
}"""


async def test_pending_consent_requests_are_bounded_per_resident_and_per_staff(
    make_gateway: GatewayFactory, database_url: str
) -> None:
    gateway = await resident_gateway(
        make_gateway, database_url=database_url, consent_pending_per_resident=3, consent_pending_per_staff=5
    )
    resident = fixture("senior_pudong")
    # staff of many stations pile requests on one resident, concurrently: at most 3 wait
    tokens = [staff_token(f"staff-{n:04d}", f"ST-{n:04d}") for n in range(1, 11)]
    answers = await asyncio.gather(*(ask(gateway, t, START, n=resident.id_number) for t in tokens))
    accepted = [a for a in answers if not a.get("errors")]
    assert len(accepted) == 3, answers
    for answer in answers:
        if answer.get("errors"):
            refused(answer, "TOO_MANY_PENDING_CONSENTS")
            assert answer["errors"][0]["extensions"] == {
                "code": "TOO_MANY_PENDING_CONSENTS",
                "scope": "resident",
                "limit": 3,
            }
    waiting = await ask(gateway, resident_token(resident), "{ me { assistedSessions { status } } }")
    assert [s["status"] for s in waiting["data"]["me"]["assistedSessions"]] == ["PENDING"] * len(accepted)

    # the resident declines one: its place is free again
    decline = "mutation($id: ID!) { revokeAssistedSession(id: $id) { status } }"
    await ask(
        gateway, resident_token(resident), decline, id=accepted[0]["data"]["startAssistedSession"]["id"]
    )
    assert not (await ask(gateway, tokens[0], START, n=resident.id_number)).get("errors")

    # one staff member asking many residents: at most 5 wait
    staff = staff_token("staff-0999")
    others = [r for r in WORLD.residents if r.id_number != resident.id_number][:7]
    results = [await ask(gateway, staff, START, n=r.id_number) for r in others]
    assert [bool(r.get("errors")) for r in results] == [False] * 5 + [True] * 2
    assert results[-1]["errors"][0]["extensions"]["scope"] == "staff"


async def test_only_the_canonical_spelling_of_an_opaque_id_is_accepted(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(fixture("senior_pudong"))
    handle = await my_id(gateway, token)
    own = "query($id: ID!) { resident(id: $id) { id } }"
    assert (await ask(gateway, token, own, id=handle))["data"]["resident"]["id"] == handle
    body = handle[3:]
    spare_bits = _b64_with_other_spare_bits(body)
    assert spare_bits != body
    for other in (handle + "=", handle + "==", "R1." + spare_bits):
        answer = await ask(gateway, token, own, id=other)
        assert codes(answer) == ["FORBIDDEN"], (other, answer)

    # cursors: one spelling too
    page = await gateway.query("{ services(first: 1) { edges { cursor } } }")
    cursor = page["data"]["services"]["edges"][0]["cursor"]
    after = "query($a: String) { services(first: 1, after: $a) { totalCount } }"
    assert not (await gateway.query(after, {"a": cursor})).get("errors")
    for other in (cursor + "=", _b64_with_other_spare_bits(cursor)):
        refused(await gateway.query(after, {"a": other}), "BAD_USER_INPUT")
    # access-log entry ids: digits as given out, nothing int() would also read
    log_page = "query($b: ID) { me { accessLog(before: $b) { at } } }"
    for other in ("+1", " 1", "01", "1_0", "\u0661"):
        refused(await ask(gateway, token, log_page, b=other), "BAD_USER_INPUT")


def _b64_with_other_spare_bits(body: str) -> str:
    """The same bytes, spelt with a different last character (base64's unused low bits set)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    data = body.rstrip("=")
    spare = {2: 4, 3: 2}[len(data) % 4]  # low bits of the last character that carry nothing
    last = alphabet.index(data[-1])
    return data[:-1] + alphabet[last | ((1 << spare) - 1)] + body[len(data) :]


async def test_variables_nested_a_thousand_deep_are_bad_user_input_not_a_recursion_error(
    gateway: Gateway,
) -> None:
    query = "query($d: [ID!]) { services(filter: {departments: $d}, first: 1) { totalCount } }"
    deep = "[" * 1000 + '"x"' + "]" * 1000  # written by hand: Python's own encoder would recurse too
    response = await gateway.client.post(
        "/graphql",
        content=f'{{"query": {json.dumps(query)}, "variables": {{"d": {deep}}}}}',
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["BAD_USER_INPUT"]
