"""Applications at the four mock departments that take them, each with its own idempotency habit:
education (`Idempotency-Key` header, JSON), housing (`<requestNo>` in a signed XML body), planning-land
(`qingqiu_bianhao` in a JSON body, a reused key is a business failure) and market-regulation
(`X-Request-Id` header). The same key and application answer the same case; the new case is listed
with the resident's other cases; a reused key with another application is refused; no key, no
protection."""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from defusedxml.ElementTree import fromstring

from mocks.applications import MAX_KEY_LENGTH, Accepted, Submissions
from mocks.people import FIXTURE_RESIDENTS
from mocks.server import RunningMocks
from tests.mocks.support import WORLD, bearer, fetch_token, signed, unknown_id

RESIDENT = WORLD.residents[FIXTURE_RESIDENTS["unemployed"]].id_number
OTHER = WORLD.residents[FIXTURE_RESIDENTS["veteran"]].id_number


@dataclass
class Answer:
    status: int
    ref: str | None  # the case reference, when a case was answered
    refused: bool  # the department's own way of saying no


Submit = Callable[[str | None, str, str, list[str]], Awaitable[Answer]]
Listing = Callable[[str], Awaitable[list[str]]]


async def _education(http: aiohttp.ClientSession, url: str) -> tuple[Submit, Listing]:
    form = {"grant_type": "client_credentials", "client_id": "onestop", "client_secret": "edu-secret"}
    auth = bearer(await fetch_token(http, f"{url}/education/oauth2/token", form, expires_in=600))

    async def submit(key: str | None, resident: str, service: str, documents: list[str]) -> Answer:
        headers = auth | ({} if key is None else {"Idempotency-Key": key})
        body = {"idCard": resident, "itemCode": service, "materialList": documents, "formData": {"a": "1"}}
        async with http.post(f"{url}/education/api/v1/applications", json=body, headers=headers) as r:
            data = await r.json()
        ref = data["result"]["caseNo"] if data["code"] == 200 else None
        if ref is not None:
            assert data["result"]["state"] == "RECEIVED"
        return Answer(r.status, ref, data["code"] != 200)

    async def listing(resident: str) -> list[str]:
        params = {"idCard": resident, "pageSize": "100"}
        async with http.get(f"{url}/education/api/v1/cases", params=params, headers=auth) as r:
            return [c["caseNo"] for c in (await r.json())["result"]["list"]]

    return submit, listing


async def _housing(http: aiohttp.ClientSession, url: str) -> tuple[Submit, Listing]:
    secret = b"zj-hmac-secret"

    async def submit(key: str | None, resident: str, service: str, documents: list[str]) -> Answer:
        root = ET.Element("application")
        if key is not None:
            ET.SubElement(root, "requestNo").text = key
        ET.SubElement(root, "idNumber").text = resident
        ET.SubElement(root, "service").text = service
        docs = ET.SubElement(root, "documents")
        for document in documents:
            ET.SubElement(docs, "document").text = document
        headers = signed("POST", "/housing/xml/applications", secret=secret)
        async with http.post(
            f"{url}/housing/xml/applications", data=ET.tostring(root, encoding="utf-8"), headers=headers
        ) as r:
            answer = fromstring(await r.read())
        if answer.tag == "submitted":
            case = answer.find("case")
            assert case is not None and case.findtext("status") == "已提交"
            return Answer(r.status, case.get("ref"), False)
        return Answer(r.status, None, True)

    async def listing(resident: str) -> list[str]:
        params = {"idNumber": resident, "size": "50"}
        headers = signed("GET", "/housing/xml/cases", params, secret=secret)
        async with http.get(f"{url}/housing/xml/cases", params=params, headers=headers) as r:
            return [c.get("ref", "") for c in fromstring(await r.read()).iter("case")]

    return submit, listing


async def _planning_land(http: aiohttp.ClientSession, url: str) -> tuple[Submit, Listing]:
    key_header = {"X-Api-Key": "gh-dev-key"}

    async def submit(key: str | None, resident: str, service: str, documents: list[str]) -> Answer:
        body: dict[str, Any] = {"sfzh": resident, "shixiang_bianma": service, "cailiao": ";".join(documents)}
        if key is not None:
            body["qingqiu_bianhao"] = key
        async with http.post(f"{url}/planning-land/api/anjian/shenqing", json=body, headers=key_header) as r:
            data = await r.json()
        ref = data["data"]["anjian_bianhao"] if data["code"] == 0 else None
        if ref is not None:
            assert data["data"]["zhuangtai"] == "tijiao"
        return Answer(r.status, ref, data["code"] != 0)

    async def listing(resident: str) -> list[str]:
        params = {"sfzh": resident, "pageSize": "200"}
        async with http.get(f"{url}/planning-land/api/anjian/list", params=params, headers=key_header) as r:
            return [c["anjian_bianhao"] for c in (await r.json())["data"]["rows"]]

    return submit, listing


async def _market_regulation(http: aiohttp.ClientSession, url: str) -> tuple[Submit, Listing]:
    basic = aiohttp.encode_basic_auth("onestop", "sc-secret")
    token = await fetch_token(
        http,
        f"{url}/market-regulation/auth/token",
        {"grant_type": "client_credentials"},
        expires_in=600,
        headers={"Authorization": basic},
    )
    auth = bearer(token)

    async def submit(key: str | None, resident: str, service: str, documents: list[str]) -> Answer:
        headers = auth | ({} if key is None else {"X-Request-Id": key})
        body = {"idCard": resident, "serviceNo": service, "materials": documents}
        async with http.post(f"{url}/market-regulation/api/applications", json=body, headers=headers) as r:
            data = await r.json()
        ref = data["data"]["caseId"] if data["success"] else None
        if ref is not None:
            assert data["data"]["statusCode"] == 10
        return Answer(r.status, ref, not data["success"])

    async def listing(resident: str) -> list[str]:
        params = {"idCard": resident, "limit": "100"}
        async with http.get(f"{url}/market-regulation/api/cases", params=params, headers=auth) as r:
            return [c["caseId"] for c in (await r.json())["data"]["rows"]]

    return submit, listing


DEPARTMENTS = {
    "education": (_education, "JY-001"),
    "housing": (_housing, "ZJ-001"),
    "planning-land": (_planning_land, "GH-001"),
    "market-regulation": (_market_regulation, "SC-001"),
}


@pytest.fixture(params=sorted(DEPARTMENTS))
def department(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _driver(
    department: str, http: aiohttp.ClientSession, mocks: RunningMocks
) -> tuple[Submit, Listing]:
    make, _ = DEPARTMENTS[department]
    return await make(http, mocks.url)


def _service(department: str) -> tuple[str, list[str]]:
    code = DEPARTMENTS[department][1]
    service = WORLD.service(code)
    assert service is not None and service.department == department
    return code, list(service.documents)


async def test_same_key_same_case_and_listed(
    department: str, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    submit, listing = await _driver(department, http, mocks)
    code, documents = _service(department)
    key = secrets.token_hex(8)
    first = await submit(key, RESIDENT, code, documents)
    assert first.status == 200 and first.ref is not None and not first.refused
    again = await submit(key, RESIDENT, code, list(reversed(documents)))  # same application, any order
    assert again.ref == first.ref
    listed = await listing(RESIDENT)
    assert listed.count(first.ref) == 1
    assert first.ref not in await listing(OTHER)


async def test_no_key_makes_a_case_each_time(
    department: str, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    submit, listing = await _driver(department, http, mocks)
    code, documents = _service(department)
    one = await submit(None, RESIDENT, code, documents)
    two = await submit(None, RESIDENT, code, documents)
    assert one.ref and two.ref and one.ref != two.ref
    assert {one.ref, two.ref} <= set(await listing(RESIDENT))


async def test_key_reused_for_another_application_is_refused(
    department: str, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    submit, listing = await _driver(department, http, mocks)
    code, documents = _service(department)
    key = secrets.token_hex(8)
    first = await submit(key, RESIDENT, code, documents)
    assert first.ref is not None
    reused = await submit(key, OTHER, code, documents)
    assert reused.refused and reused.ref is None
    assert reused.status in (200, 409)  # planning-land says it in the envelope (code 4090)
    assert not [r for r in await listing(OTHER) if r == first.ref]


@pytest.mark.parametrize(
    "resident,service,key",
    [
        ("310115000000000000", None, None),  # not an ID number (checksum wrong)
        (None, "MZ-001", None),  # another department's service
        (None, "XX-999", None),  # no such service
        (None, None, "k" * (MAX_KEY_LENGTH + 1)),  # key too long
    ],
)
async def test_bad_applications_are_refused(
    department: str,
    mocks: RunningMocks,
    http: aiohttp.ClientSession,
    resident: str | None,
    service: str | None,
    key: str | None,
) -> None:
    submit, _ = await _driver(department, http, mocks)
    code, documents = _service(department)
    answer = await submit(key, resident or RESIDENT, service or code, documents)
    assert answer.refused and answer.ref is None and answer.status == 400


async def test_bodies_that_are_not_applications(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    housing = signed("POST", "/housing/xml/applications", secret=b"zj-hmac-secret")
    for body in (b"not xml", b"<other/>", b'<!DOCTYPE a [<!ENTITY x "y">]><application>&x;</application>'):
        async with http.post(f"{mocks.url}/housing/xml/applications", data=body, headers=housing) as r:
            assert r.status == 400
    async with http.post(
        f"{mocks.url}/planning-land/api/anjian/shenqing", data=b"[1]", headers={"X-Api-Key": "gh-dev-key"}
    ) as r:
        assert r.status == 400 and json.loads(await r.read())["code"] == 400
    async with http.post(f"{mocks.url}/planning-land/api/anjian/shenqing", json={}) as r:
        assert r.status == 401  # the API key is checked first


def test_an_unknown_resident_may_still_apply() -> None:
    """The mocks check the ID number's form, not the population register (as a window would)."""
    book = Submissions(WORLD, "education")
    outcome = book.submit("k1", unknown_id(), "JY-001")
    assert isinstance(outcome, Accepted) and not outcome.replayed
    assert book.submit("k1", unknown_id(), "JY-001") == Accepted(outcome.case, replayed=True)
    assert book.count() == 1
