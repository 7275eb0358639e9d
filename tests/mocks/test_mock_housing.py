"""housing: HMAC-signed plain XML, page/pages/total in root attributes, Chinese case statuses."""

from __future__ import annotations

import time
from datetime import datetime
from xml.etree.ElementTree import Element, ParseError

import aiohttp
import pytest
from defusedxml.ElementTree import fromstring

from mocks.server import RunningMocks
from mocks.world import CaseStatus, build_world, id_check_char
from tests.mocks.support import signed

WORLD = build_world()
SECRET = b"zj-hmac-secret"
SERVICES = "/housing/xml/services"
CASES = "/housing/xml/cases"
UNKNOWN = "31011519000101999" + id_check_char("31011519000101999")  # valid, nobody's
STATUSES = {
    CaseStatus.SUBMITTED: "已提交",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.IN_REVIEW: "审核中",
    CaseStatus.NEEDS_INFO: "待补正",
    CaseStatus.APPROVED: "已批准",
    CaseStatus.REJECTED: "不予批准",
    CaseStatus.COMPLETED: "已办结",
    CaseStatus.WITHDRAWN: "已撤回",
}


async def get(
    http: aiohttp.ClientSession,
    mocks: RunningMocks,
    path: str,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Element]:
    params = params or {}
    sent = signed("GET", path, params, secret=SECRET) if headers is None else headers
    async with http.get(f"{mocks.url}{path}", params=params, headers=sent) as response:
        assert response.content_type == "application/xml"
        return response.status, fromstring(await response.read())


async def test_services_walk_every_page(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    seeded = WORLD.services_of("housing")
    services: list[Element] = []
    for page in range(1, len(seeded) + 2):
        status, root = await get(http, mocks, SERVICES, {"page": str(page), "size": "1"})
        assert status == 200 and root.tag == "result"
        assert root.attrib == {"page": str(page), "pages": str(len(seeded)), "total": str(len(seeded))}
        services.extend(root.findall("service"))
    assert [s.get("code") for s in services] == [s.code for s in seeded]  # the page past the end is empty
    for element, service in zip(services, seeded, strict=True):
        assert element.findtext("nameZh") == service.name_zh and element.findtext("category") == "housing"
        words = {"window": "window", "online": "web", "app": "app", "wechat": "wechat", "kiosk": "kiosk"}
        assert [c.text for c in element.findall("channels/channel")] == [
            words[c.value] for c in service.channels
        ]
        assert [d.text for d in element.findall("documents/document")] == list(service.documents)
        assert element.findtext("feeFen") == str(service.fee_fen)
        assert element.findtext("days") == str(service.processing_days)
        assert datetime.fromisoformat(element.findtext("updated") or "") == service.updated_at
        criteria = [(c.get("fact"), c.get("op"), c.text) for c in element.findall("criteria/criterion")]
        assert criteria == [(c.fact, c.op, c.text_zh) for c in service.criteria]
    income = services[0].findall("criteria/criterion")[1]
    assert income.get("value") == "LOW,LOWER_MIDDLE,MIDDLE"  # an 'in' list, comma-separated


@pytest.mark.parametrize(
    "params", [{"size": "0"}, {"size": "51"}, {"page": "0"}, {"page": "x"}, {"size": "-2"}]
)
async def test_bad_paging_is_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, root = await get(http, mocks, SERVICES, params)
    assert status == 400 and root.tag == "error" and root.findtext("code") == "BAD_PARAM"


@pytest.mark.parametrize("tamper", ["secret", "app_id", "stale", "query", "missing"])
@pytest.mark.parametrize("path", [SERVICES, CASES])
async def test_requests_must_be_signed(
    mocks: RunningMocks, http: aiohttp.ClientSession, tamper: str, path: str
) -> None:
    params = {"idNumber": UNKNOWN} if path == CASES else {"page": "1"}
    headers = {
        "secret": lambda: signed("GET", path, params, secret=b"health-hmac-secret"),
        "app_id": lambda: signed("GET", path, params, secret=SECRET, app_id="other"),
        "stale": lambda: signed("GET", path, params, secret=SECRET, timestamp=int(time.time()) - 400),
        "query": lambda: signed("GET", path, {**params, "size": "5"}, secret=SECRET),
        "missing": lambda: {},
    }[tamper]()
    status, root = await get(http, mocks, path, params, headers)
    assert status == 401 and root.tag == "error" and root.findtext("code") == "AUTH_FAILED"


async def test_cases_in_chinese_statuses(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    for canonical, word in STATUSES.items():
        case = next(c for c in WORLD.cases_of("housing") if c.status == canonical)
        status, root = await get(http, mocks, CASES, {"idNumber": case.resident})
        assert status == 200
        element = next(e for e in root.findall("case") if e.get("ref") == case.ref)
        assert element.findtext("service") == case.service and element.findtext("status") == word
        assert datetime.fromisoformat(element.findtext("submitted") or "") == case.submitted_at
        assert element.findtext("nextAction") == (case.next_action or "")
        expected = case.expected_completion
        assert element.findtext("expected") == ("" if expected is None else expected.isoformat())
        events = element.findall("history/event")
        assert [(e.get("status"), e.text) for e in events] == [
            (STATUSES[e.status], e.note_zh) for e in case.history
        ]
        assert [datetime.fromisoformat(e.get("at") or "") for e in events] == [e.at for e in case.history]


async def test_cases_page_and_unknown_residents(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    resident = WORLD.cases_of("housing")[0].resident
    count = sum(1 for c in WORLD.cases_of_resident(resident) if c.department == "housing")
    status, root = await get(http, mocks, CASES, {"idNumber": resident, "size": "1"})
    assert status == 200 and root.get("total") == str(count) and len(root.findall("case")) == 1
    status, root = await get(http, mocks, CASES, {"idNumber": UNKNOWN})
    assert status == 200 and root.attrib == {"page": "1", "pages": "0", "total": "0"} and len(root) == 0


@pytest.mark.parametrize("params", [{}, {"idNumber": ""}])
async def test_cases_need_an_id_number(
    mocks: RunningMocks, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, root = await get(http, mocks, CASES, params)
    assert status == 400 and root.findtext("code") == "BAD_PARAM"


async def test_schema(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/housing/xml/schema.xsd") as response:
        assert response.status == 200 and response.content_type == "application/xml"
        schema = fromstring(await response.read())
    xs = "{http://www.w3.org/2001/XMLSchema}"
    assert schema.tag == f"{xs}schema"
    assert {e.get("name") for e in schema.findall(f"{xs}element")} == {
        "result",
        "error",
        "application",
        "submitted",
    }
    types = {t.get("name") for t in schema.findall(f"{xs}complexType")}
    assert {"service", "case", "criterion", "event"} <= types
    statuses = {e.get("value") for e in schema.iter(f"{xs}enumeration")}
    assert set(STATUSES.values()) <= statuses


async def test_failure_style(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/housing", json={"error_rate": 1.0}) as response:
        assert response.status == 200
    status, root = await get(http, mocks, SERVICES)
    assert status == 500 and root.tag == "error" and root.findtext("code") == "SYS_BUSY"


async def test_malformed_body(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/housing", json={"malformed": True}) as response:
        assert response.status == 200
    headers = signed("GET", SERVICES, {}, secret=SECRET)
    async with http.get(f"{mocks.url}{SERVICES}", headers=headers) as response:
        assert response.status == 200 and response.content_type == "application/xml"
        body = await response.read()
    with pytest.raises(ParseError):
        fromstring(body)
