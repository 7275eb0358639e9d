"""Attacks on the resident view, each actually tried: resident A after B's data through every path
(resident(id), case(id) top-level and nested, forged and altered ids, the access log, consent to B's
session), untrustworthy tokens, staff without or after consent, admins and operators. Every refusal
is a typed error, never a 500; ID numbers appear in no response and no log line."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest

from identity.principal import Role
from identity.tokens import mint
from tests.access_support import (
    SECRET,
    WORLD,
    ask,
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
from tests.conftest import Gateway, GatewayFactory

EVERYTHING = """query($id: ID!) { resident(id: $id) { id profile { name address } cases { id }
  eligibility(serviceIds: ["MZ-001"]) { outcome } accessLog { id } assistedSessions { id } } }"""
FIELDS = {
    "profile": "profile { name }",
    "cases": "cases { id }",
    "case": 'case(id: "CASE") { id }',
    "eligibility": 'eligibility(serviceIds: ["MZ-001"]) { outcome }',
    "accessLog": "accessLog { id }",
    "assistedSessions": "assistedSessions { id }",
    "accounts": "accounts { number }",
    "bills": "bills { id amountFen }",
    "appointments": "appointments { id }",
}
A, B = "senior_pudong", "veteran"


@pytest.fixture
def leaks(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _b_case() -> str:
    [case] = WORLD.cases_of_resident(fixture(B).id_number)
    return f"{case.department}:{case.ref}"


def _no_id_numbers(*bodies: dict[str, Any], logs: str = "") -> None:
    for name in (A, B):
        number = fixture(name).id_number
        assert number not in logs, f"{name}'s ID number in the logs"
        for body in bodies:
            assert number not in json.dumps(body, ensure_ascii=False)
            assert fixture(name).name not in json.dumps(body, ensure_ascii=False) or name == A


async def _b_handle(gateway: Gateway) -> str:
    return await my_id(gateway, resident_token(fixture(B)))


async def test_a_cannot_reach_b_through_resident_id(make_gateway: GatewayFactory, leaks: Any) -> None:
    gateway = await resident_gateway(make_gateway)
    handle = await _b_handle(gateway)
    a = resident_token(fixture(A))
    bodies = [await ask(gateway, a, EVERYTHING, id=handle)]
    for selection in FIELDS.values():
        query = f"query($id: ID!) {{ resident(id: $id) {{ {selection.replace('CASE', _b_case())} }} }}"
        bodies.append(await ask(gateway, a, query, id=handle))
    for body in bodies:
        refused(body, "FORBIDDEN")
        assert body["data"] is None
    _no_id_numbers(*bodies, logs=leaks.text)


async def test_a_cannot_read_b_case_by_id(make_gateway: GatewayFactory, leaks: Any) -> None:
    gateway = await resident_gateway(make_gateway)
    a = resident_token(fixture(A))
    top = await ask(
        gateway, a, "query($id: ID!) { case(id: $id) { id status history { note } } }", id=_b_case()
    )
    nested = await ask(gateway, a, "query($id: ID!) { me { case(id: $id) { id status } } }", id=_b_case())
    refused(top, "FORBIDDEN")
    refused(nested, "FORBIDDEN")
    assert not (top["data"] or {}).get("case")
    assert not ((nested["data"] or {}).get("me") or {}).get("case")
    _no_id_numbers(top, nested, logs=leaks.text)


def _altered(handle: str) -> list[str]:
    body = handle[3:]
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[-1] ^= 1
    flipped = "R1." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    # "x" * 1000: the longest string an id argument may be (longer is BAD_USER_INPUT, schema/inputs.py)
    return [flipped, handle[:-2], "R1.", "R1.!!!", "R2." + body, fixture(B).id_number, "x" * 1000, ""]


async def test_forged_and_altered_resident_ids_are_nobody(make_gateway: GatewayFactory, leaks: Any) -> None:
    gateway = await resident_gateway(make_gateway)
    handle = await _b_handle(gateway)
    other = await resident_gateway(make_gateway, resident_key="another-gateway-key-of-32-bytes-long")
    foreign = await my_id(other, resident_token(fixture(B)))
    assert foreign != handle
    for token in (resident_token(fixture(A)), staff_token()):
        for forged in [*_altered(handle), foreign]:
            body = await ask(
                gateway, token, "query($id: ID!) { resident(id: $id) { profile { name } } }", id=forged
            )
            refused(body, "FORBIDDEN")
            _no_id_numbers(body, logs=leaks.text)


async def test_a_cannot_read_b_access_log_or_answer_b_consent(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    session = await start_session(gateway, staff_token(), fixture(B), ["PROFILE"])
    a = resident_token(fixture(A))
    refused(await consent(gateway, a, session["id"]), "FORBIDDEN")
    revoke = "mutation($id: ID!) { revokeAssistedSession(id: $id) { status } }"
    refused(await ask(gateway, a, revoke, id=session["id"]), "FORBIDDEN")
    body = await ask(gateway, a, "{ me { assistedSessions { id } } }")
    assert body["data"]["me"]["assistedSessions"] == []
    query = "query($id: ID!) { resident(id: $id) { accessLog { id data } } }"
    refused(await ask(gateway, a, query, id=session["residentId"]), "FORBIDDEN")


async def test_aliases_do_not_smuggle_b_into_a_answer(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    handle = await _b_handle(gateway)
    query = "query($id: ID!) { mine: me { profile { name } } theirs: resident(id: $id) { profile { name } } }"
    body = await ask(gateway, resident_token(fixture(A)), query, id=handle)
    assert codes(body) == ["FORBIDDEN"] and body["errors"][0]["path"] == ["theirs"]
    assert body["data"] is None or fixture(B).name not in json.dumps(body, ensure_ascii=False)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            mint("not-the-gateway-secret-of-32-bytes!!", fixture(B).id_number, Role.RESIDENT), id="forged"
        ),
        pytest.param(mint(SECRET, fixture(B).id_number, Role.RESIDENT, ttl_s=-300), id="expired"),
        pytest.param(
            _b64({"alg": "none", "typ": "JWT"})
            + "."
            + _b64({"sub": fixture(B).id_number, "role": "resident", "exp": 2**40})
            + ".",
            id="alg-none",
        ),
    ],
)
async def test_untrustworthy_tokens_get_no_personal_data(make_gateway: GatewayFactory, token: str) -> None:
    gateway = await resident_gateway(make_gateway)
    response = await gateway.client.post(
        "/graphql",
        json={"query": "{ me { profile { name } } }"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert fixture(B).name not in response.text


async def test_anonymous_and_odd_subjects_are_refused(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    refused(await ask(gateway, None, "{ me { profile { name } } }"), "UNAUTHENTICATED")
    refused(await ask(gateway, None, 'query { resident(id: "R1.x") { id } }'), "UNAUTHENTICATED")
    for subject in ("admin", "../../etc", "31011519560101123X0", ""):
        token = mint(SECRET, subject or "-", Role.RESIDENT)
        refused(await ask(gateway, token, "{ me { profile { name } } }"), "FORBIDDEN")


async def test_staff_without_consent_see_nothing_through_any_field(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    handle = await _b_handle(gateway)
    staff = staff_token()
    refused(await ask(gateway, staff, EVERYTHING, id=handle), "CONSENT_REQUIRED")
    refused(await ask(gateway, staff, "{ me { profile { name } } }"), "FORBIDDEN")
    refused(await ask(gateway, staff, "query($id: ID!) { case(id: $id) { id } }", id=_b_case()), "FORBIDDEN")
    await start_session(gateway, staff, fixture(B), ["PROFILE"])  # asked, not yet consented
    refused(await ask(gateway, staff, EVERYTHING, id=handle), "CONSENT_REQUIRED")


async def test_staff_after_revocation_see_nothing_through_any_field(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway)
    staff = staff_token()
    purposes = ["PROFILE", "CASES", "ELIGIBILITY"]
    session = await start_session(gateway, staff, fixture(B), purposes)
    assert not (await consent(gateway, resident_token(fixture(B)), session["id"])).get("errors")
    handle = session["residentId"]
    allowed = await ask(
        gateway, staff, EVERYTHING.replace("accessLog { id } assistedSessions { id }", ""), id=handle
    )
    assert not allowed.get("errors"), allowed
    revoke = "mutation($id: ID!) { revokeAssistedSession(id: $id) { status } }"
    await ask(gateway, resident_token(fixture(B)), revoke, id=session["id"])
    for name, selection in FIELDS.items():
        query = f"query($id: ID!) {{ resident(id: $id) {{ {selection.replace('CASE', _b_case())} }} }}"
        body = await ask(gateway, staff, query, id=handle)
        refused(body, "CONSENT_REQUIRED")
        assert body["data"] is None, name


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(mint(SECRET, "admin-1", Role.DEPT_ADMIN, department="public-security"), id="dept_admin"),
        pytest.param(mint(SECRET, "op-1", Role.OPERATOR), id="operator"),
        pytest.param(mint(SECRET, fixture(B).id_number, Role.OPERATOR), id="operator-with-an-id-number"),
    ],
)
async def test_admins_and_operators_see_no_personal_data(make_gateway: GatewayFactory, token: str) -> None:
    gateway = await resident_gateway(make_gateway)
    handle = await _b_handle(gateway)
    refused(await ask(gateway, token, "{ me { profile { name } } }"), "FORBIDDEN")
    refused(await ask(gateway, token, EVERYTHING, id=handle), "FORBIDDEN")
    refused(await ask(gateway, token, "query($id: ID!) { case(id: $id) { id } }", id=_b_case()), "FORBIDDEN")
    start = 'mutation { startAssistedSession(idNumber: "310115195601011234", purposes: [PROFILE]) { id } }'
    refused(await ask(gateway, token, start), "FORBIDDEN")
