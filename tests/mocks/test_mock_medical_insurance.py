"""medical-insurance: snake_case JSON, appkey in the query, offset/limit, batches of 50, status codes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import FIXTURE_RESIDENTS, CaseStatus, build_world, id_check_char

WORLD = build_world()
UNKNOWN = "31011519000101999" + id_check_char("31011519000101999")  # valid, nobody's
PREFIX = "/medical-insurance"
KEY = {"appkey": "yb-dev-key"}
SERVICE_FIELDS = {
    "service_code",
    "name_zh",
    "name_en",
    "description",
    "category",
    "channels",
    "fee_fen",
    "processing_days",
    "documents",
    "updated_at",
    "criteria",
}
STATUS_CODES = {
    CaseStatus.SUBMITTED: "01",
    CaseStatus.ACCEPTED: "02",
    CaseStatus.IN_REVIEW: "03",
    CaseStatus.NEEDS_INFO: "04",
    CaseStatus.APPROVED: "05",
    CaseStatus.REJECTED: "06",
    CaseStatus.COMPLETED: "07",
    CaseStatus.WITHDRAWN: "09",
}
CASE_FIELDS = {
    "case_no",
    "service_code",
    "status",
    "status_text",
    "submitted_at",
    "updated_at",
    "next_step",
    "expected_by",
    "history",
}


async def get(
    http: aiohttp.ClientSession, mocks: RunningMocks, path: str, params: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(f"{mocks.url}{PREFIX}{path}", params=KEY | (params or {})) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def batch(
    http: aiohttp.ClientSession, mocks: RunningMocks, body: Any, params: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = f"{mocks.url}{PREFIX}/api/insured/batch"
    async with http.post(url, params=KEY if params is None else params, data=data) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_services_walk_every_item_once(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        status, body = await get(http, mocks, "/api/services", {"offset": str(offset), "limit": "1"})
        assert status == 200 and set(body) == {"total", "items"}
        if not body["items"]:
            break
        items.extend(body["items"])
        offset += 1
    assert body["total"] == len(items) == len(WORLD.services_of("medical-insurance"))
    assert [i["service_code"] for i in items] == [s.code for s in WORLD.services_of("medical-insurance")]
    for item in items:
        assert set(item) == SERVICE_FIELDS
        assert set(item["channels"]) <= {"counter", "web", "app", "wechat", "self_service"}
        assert datetime.fromisoformat(item["updated_at"]).utcoffset() is not None
        assert all(set(c) == {"fact", "op", "value", "text"} for c in item["criteria"])
    yb004 = next(i for i in items if i["service_code"] == "YB-004")
    assert yb004["criteria"][0] == {"fact": "age", "op": ">=", "value": 60, "text": "年满60周岁"}


@pytest.mark.parametrize(
    ("offset", "limit"), [("-1", "10"), ("0", "0"), ("0", "101"), ("x", "10"), ("0", "1.5")]
)
async def test_bad_paging_is_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, offset: str, limit: str
) -> None:
    status, body = await get(http, mocks, "/api/services", {"offset": offset, "limit": limit})
    assert status == 400 and body == {"error": "bad_paging"}


@pytest.mark.parametrize(
    ("path", "params"),
    [("/api/services", {}), ("/api/cases", {"id_number": WORLD.residents[0].id_number})],
)
@pytest.mark.parametrize("key", [None, "wrong", ""])
async def test_appkey_required(
    mocks: RunningMocks, http: aiohttp.ClientSession, path: str, params: dict[str, str], key: str | None
) -> None:
    query = params | ({} if key is None else {"appkey": key})
    headers = {"X-Api-Key": "yb-dev-key"}  # in a header it does not count
    async with http.get(f"{mocks.url}{PREFIX}{path}", params=query, headers=headers) as response:
        assert response.status == 401 and await response.json() == {"error": "invalid_appkey"}
    status, body = await batch(http, mocks, {"id_numbers": ["x"]}, params={"appkey": "wrong"})
    assert status == 401 and body == {"error": "invalid_appkey"}


async def test_batch_answers_known_residents_in_chinese_words(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    residents = WORLD.residents[:49]
    ids = [r.id_number for r in residents] + [UNKNOWN]
    status, body = await batch(http, mocks, {"id_numbers": ids})
    assert status == 200 and set(body) == {"items"}
    by_id = {i["id_number"]: i for i in body["items"]}
    assert set(by_id) == {r.id_number for r in residents}  # the unknown one is simply absent
    words = {"EMPLOYEE": "职工医保", "RESIDENT": "居民医保", "NONE": "未参保"}
    for resident in residents:
        item = by_id[resident.id_number]
        assert set(item) == {"id_number", "insurance_type", "social_insurance_no", "updated_at"}
        assert item["insurance_type"] == words[resident.medical_insurance]
        assert item["social_insurance_no"] == resident.social_insurance_no
        assert datetime.fromisoformat(item["updated_at"]).utcoffset() is not None


async def test_batch_answers_each_resident_once(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    resident = WORLD.residents[FIXTURE_RESIDENTS["child"]]
    status, body = await batch(http, mocks, {"id_numbers": [resident.id_number] * 3})
    assert status == 200 and [i["insurance_type"] for i in body["items"]] == ["居民医保"]


@pytest.mark.parametrize("count", [0, 51, 1000])
async def test_batch_limits(mocks: RunningMocks, http: aiohttp.ClientSession, count: int) -> None:
    ids = [r.id_number for r in WORLD.residents[:count]]
    status, body = await batch(http, mocks, {"id_numbers": ids})
    assert status == 400 and body == {"error": "batch_too_large"}


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"id_numbers": "x"}', b'{"id_numbers": [1]}'])
async def test_bad_batch_bodies_are_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, body: bytes
) -> None:
    status, answer = await batch(http, mocks, body)
    assert status == 400 and answer == {"error": "bad_request"}


async def test_cases_with_status_codes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    """One case per canonical status: its code, the code of every history event, the other fields."""
    for canonical, code in STATUS_CODES.items():
        case = next(c for c in WORLD.cases_of("medical-insurance") if c.status == canonical)
        status, body = await get(http, mocks, "/api/cases", {"id_number": case.resident})
        assert status == 200
        assert all(i["case_no"].startswith("YB-") for i in body["items"])  # only this bureau's cases
        item = next(i for i in body["items"] if i["case_no"] == case.ref)
        assert set(item) == CASE_FIELDS
        assert item["service_code"] == case.service
        assert item["status"] == code and item["status_text"]
        assert [e["status"] for e in item["history"]] == [STATUS_CODES[e.status] for e in case.history]
        assert [e["remark"] for e in item["history"]] == [e.note_zh for e in case.history]
        assert datetime.fromisoformat(item["submitted_at"]) == case.submitted_at
        assert item["next_step"] == case.next_action
        expected = case.expected_completion
        assert item["expected_by"] == (None if expected is None else expected.isoformat())


async def test_cases_of_unknown_resident_are_empty(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, mocks, "/api/cases", {"id_number": UNKNOWN})
    assert status == 200 and body == {"items": []}


@pytest.mark.parametrize("params", [{}, {"id_number": ""}, {"id_number": "  "}])
async def test_cases_need_an_id_number(
    mocks: RunningMocks, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, body = await get(http, mocks, "/api/cases", params)
    assert status == 400 and body == {"error": "missing_id_number"}


async def test_openapi(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}{PREFIX}/openapi.json") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/api/services", "/api/insured/batch", "/api/cases"}
    assert spec["components"]["securitySchemes"]["appkey"] == {
        "type": "apiKey",
        "in": "query",
        "name": "appkey",
    }
    assert set(spec["components"]["schemas"]["Service"]["properties"]) == SERVICE_FIELDS


async def test_failure_style(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/medical-insurance", json={"error_rate": 1.0}) as response:
        assert response.status == 200
    status, body = await get(http, mocks, "/api/services")
    assert status == 500 and body["error"] == "system_error"


async def test_malformed_body(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/medical-insurance", json={"malformed": True}) as response:
        assert response.status == 200
    async with http.get(f"{mocks.url}{PREFIX}/api/services", params=KEY) as response:
        assert response.status == 200 and response.content_type == "application/json"
        text = await response.text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
