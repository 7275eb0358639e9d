"""planning-land: {code, msg, data} envelope, pinyin fields, pageNo/pageSize, API key, pinyin statuses."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import DEFAULT_SEED, CaseStatus, build_world, id_check_char
from tests.conftest import Admin

WORLD = build_world(DEFAULT_SEED)
KEY = {"X-Api-Key": "gh-dev-key"}
SERVICES = "/planning-land/api/shixiang/list"
CASES = "/planning-land/api/anjian/list"
WORDS = {
    CaseStatus.SUBMITTED: "tijiao",
    CaseStatus.ACCEPTED: "shouli",
    CaseStatus.IN_REVIEW: "shencha",
    CaseStatus.NEEDS_INFO: "buzheng",
    CaseStatus.APPROVED: "pizhun",
    CaseStatus.REJECTED: "buyu",
    CaseStatus.COMPLETED: "banjie",
    CaseStatus.WITHDRAWN: "chehui",
}
UNKNOWN_ID = "31011519000101123" + id_check_char("31011519000101123")  # valid, born 1900: nobody here


async def get(
    http: aiohttp.ClientSession, mocks: RunningMocks, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(f"{mocks.url}{path}", headers=KEY if headers is None else headers) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def walk(
    http: aiohttp.ClientSession, mocks: RunningMocks, path: str, size: int
) -> list[dict[str, Any]]:
    """Every row of a listing, page by page, checking the envelope and the total on the way."""
    rows: list[dict[str, Any]] = []
    separator = "&" if "?" in path else "?"
    for page in range(1, 1000):
        status, body = await get(http, mocks, f"{path}{separator}pageNo={page}&pageSize={size}")
        assert status == 200 and body["code"] == 0 and body["msg"]
        rows.extend(body["data"]["rows"])
        if len(rows) >= body["data"]["total"]:
            assert len(rows) == body["data"]["total"]
            return rows
    raise AssertionError("pages never ended")


async def test_service_pages_cover_every_service_once(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    rows = await walk(http, mocks, SERVICES, 1)
    assert [r["bianma"] for r in rows] == [s.code for s in WORLD.services_of("planning-land")]


async def test_service_rows_in_pinyin(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, mocks, SERVICES)
    assert status == 200
    rows = body["data"]["rows"]
    assert len(rows) == len(WORLD.services_of("planning-land")) >= 3
    for row, service in zip(rows, WORLD.services_of("planning-land"), strict=True):
        assert set(row) == {
            "bianma",
            "mingcheng",
            "yingwen_mingcheng",
            "miaoshu",
            "leibie",
            "qudao",
            "shoufei",
            "banli_tianshu",
            "cailiao",
            "gengxin_riqi",
            "tiaojian",
        }
        assert row["mingcheng"] == service.name_zh and row["leibie"] == "planning"
        assert set(row["qudao"].split(",")) <= {"chuangkou", "wangshang", "app", "weixin", "zizhuji"}
        assert isinstance(row["shoufei"], int) and isinstance(row["banli_tianshu"], int)
        assert row["cailiao"].split(";") == list(service.documents)
        assert re.fullmatch(r"20\d{6}", row["gengxin_riqi"])
        assert [(c["fact"], c["op"], c["text"]) for c in row["tiaojian"]] == [
            (c.fact, c.op, c.text_zh) for c in service.criteria
        ]
    assert any(c["value"] == 18 for r in rows for c in r["tiaojian"])  # JSON numbers, not text


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"X-API-KEY": "gh-dev-key-2"}])
@pytest.mark.parametrize("path", [SERVICES, f"{CASES}?sfzh={UNKNOWN_ID}"])
async def test_wrong_or_missing_key_is_401(
    mocks: RunningMocks, http: aiohttp.ClientSession, headers: dict[str, str], path: str
) -> None:
    status, body = await get(http, mocks, path, headers)
    assert status == 401 and body["code"] == 401 and body["data"] is None


@pytest.mark.parametrize(
    "query", ["pageNo=0", "pageNo=-1", "pageNo=x", "pageSize=0", "pageSize=201", "pageSize=2.5"]
)
async def test_bad_paging_is_400(mocks: RunningMocks, http: aiohttp.ClientSession, query: str) -> None:
    status, body = await get(http, mocks, f"{SERVICES}?{query}")
    assert status == 400 and body["code"] == 400 and body["msg"].startswith("参数错误")


async def test_page_size_200_is_allowed(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, mocks, f"{SERVICES}?pageSize=200")
    assert status == 200 and len(body["data"]["rows"]) == body["data"]["total"]


@pytest.mark.parametrize("query", ["", "?sfzh=", "?sfzh=310115", f"?sfzh={UNKNOWN_ID[:-1]}0"])
async def test_missing_or_invalid_id_is_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, query: str
) -> None:
    status, body = await get(http, mocks, f"{CASES}{query}")
    assert status == 400 and body["code"] == 400


async def test_unknown_resident_has_no_cases(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, mocks, f"{CASES}?sfzh={UNKNOWN_ID}")
    assert status == 200 and body["data"] == {"total": 0, "rows": []}


async def test_busiest_residents_cases_page_through_once(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    applicant, count = Counter(c.resident for c in WORLD.cases_of("planning-land")).most_common(1)[0]
    rows = await walk(http, mocks, f"{CASES}?sfzh={applicant}", 1)
    expected = [c.ref for c in WORLD.cases_of("planning-land") if c.resident == applicant]
    assert [r["anjian_bianhao"] for r in rows] == expected and len(rows) == count


@pytest.mark.parametrize("status", list(CaseStatus))
async def test_every_status_and_event_in_pinyin(
    mocks: RunningMocks, http: aiohttp.ClientSession, status: CaseStatus
) -> None:
    case = next(c for c in WORLD.cases_of("planning-land") if c.status is status)
    _, body = await get(http, mocks, f"{CASES}?sfzh={case.resident}&pageSize=200")
    row = next(r for r in body["data"]["rows"] if r["anjian_bianhao"] == case.ref)
    assert set(row) == {
        "anjian_bianhao",
        "shixiang_bianma",
        "zhuangtai",
        "tijiao_riqi",
        "gengxin_riqi",
        "xia_yi_bu",
        "yuji_banjie",
        "liucheng",
    }
    assert row["zhuangtai"] == WORDS[status] and row["shixiang_bianma"] == case.service
    assert row["tijiao_riqi"] == case.submitted_at.strftime("%Y%m%d")
    assert row["gengxin_riqi"] == case.updated_at.strftime("%Y%m%d")
    assert row["xia_yi_bu"] == case.next_action
    expected_by = case.expected_completion
    assert row["yuji_banjie"] == (None if expected_by is None else expected_by.strftime("%Y%m%d"))
    assert row["liucheng"] == [
        {"riqi": e.at.strftime("%Y%m%d"), "zhuangtai": WORDS[e.status], "beizhu": e.note_zh}
        for e in case.history
    ]


async def test_openapi_describes_the_routes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, spec = await get(http, mocks, "/planning-land/openapi.json", {})
    assert status == 200 and spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/api/shixiang/list",
        "/api/anjian/list",
        "/api/anjian/shenqing",
        "/api/anjian/jiaofei",
    }
    assert spec["servers"] == [{"url": "/planning-land"}]
    params = {p["name"]: p for p in spec["paths"]["/api/anjian/list"]["get"]["parameters"]}
    assert set(params) == {"sfzh", "pageNo", "pageSize"} and params["sfzh"]["required"] is True
    assert params["pageSize"]["schema"]["maximum"] == 200
    case = spec["components"]["schemas"]["Anjian"]["properties"]
    assert case["zhuangtai"]["enum"] == list(WORDS.values())


async def test_failure_is_http_200_with_code_9999(
    mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    await admin.fault("planning-land", error_rate=1)
    status, body = await get(http, mocks, SERVICES)
    assert status == 200 and body["code"] == 9999 and body["data"] is None


async def test_malformed_is_broken_json(
    mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    await admin.fault("planning-land", malformed=True)
    async with http.get(f"{mocks.url}{SERVICES}", headers=KEY) as response:
        assert response.status == 200 and response.content_type == "application/json"
        body = await response.read()
    with pytest.raises(ValueError):
        json.loads(body)


async def post(http: aiohttp.ClientSession, mocks: RunningMocks, path: str, body: object) -> Any:
    async with http.post(f"{mocks.url}{path}", json=body, headers=KEY) as response:
        assert response.status in (200, 400)
        return await response.json()


async def test_a_fee_reported_paid_is_recorded_once_per_transaction(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    """缴费通知: the same transaction answers the same; another one, a wrong amount or a free
    service are business failures (HTTP 200, non-zero code)."""
    resident = WORLD.cases_of("planning-land")[0].resident
    application = {"qingqiu_bianhao": "fee-test-1", "sfzh": resident, "shixiang_bianma": "GH-003"}
    case = (await post(http, mocks, "/planning-land/api/anjian/shenqing", application))["data"]
    paid = {
        "anjian_bianhao": case["anjian_bianhao"],
        "jiaoyi_liushui": "TXN-1",
        "jine_fen": 8000,
        "zhifu_shijian": "2026-12-06T10:00:00+08:00",
    }
    wrong = await post(http, mocks, "/planning-land/api/anjian/jiaofei", paid | {"jine_fen": 1})
    assert wrong["code"] == 4092 and wrong["data"] is None
    first = await post(http, mocks, "/planning-land/api/anjian/jiaofei", paid)
    assert first["code"] == 0 and first["data"]["jiaofei"] == "TXN-1"
    assert (await post(http, mocks, "/planning-land/api/anjian/jiaofei", paid)) == first
    other = await post(http, mocks, "/planning-land/api/anjian/jiaofei", paid | {"jiaoyi_liushui": "TXN-2"})
    assert other["code"] == 4091
    free = {"qingqiu_bianhao": "fee-test-2", "sfzh": resident, "shixiang_bianma": "GH-002"}
    free_case = (await post(http, mocks, "/planning-land/api/anjian/shenqing", free))["data"]
    refused = await post(
        http,
        mocks,
        "/planning-land/api/anjian/jiaofei",
        paid | {"anjian_bianhao": free_case["anjian_bianhao"]},
    )
    assert refused["code"] == 4093
    unknown = await post(
        http, mocks, "/planning-land/api/anjian/jiaofei", paid | {"anjian_bianhao": "GH/1999/1"}
    )
    assert unknown["code"] == 4040
    assert (await post(http, mocks, "/planning-land/api/anjian/jiaofei", {"jine_fen": 1}))["code"] != 0
