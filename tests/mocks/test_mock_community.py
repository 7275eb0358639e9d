"""community: JSON envelope, pinyin fields, pageNo/pageSize paging, API key."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import build_world

WORLD = build_world()
KEY = {"X-Api-Key": "community-dev-key"}
HOURS = re.compile(r"^[1-7](-[1-7])? \d\d:\d\d-\d\d:\d\d(;[1-7](-[1-7])? \d\d:\d\d-\d\d:\d\d)*$")
ALL_CODES = re.compile(r"^[A-Z]{2}-\d{3}$")


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(url, headers=KEY if headers is None else headers) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_station_pages_cover_every_station_exactly_once(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    seen: list[str] = []
    page = 1
    while True:
        status, body = await get(http, f"{mocks.url}/community/api/zhandian/list?pageNo={page}&pageSize=200")
        assert status == 200 and body["code"] == 0 and body["msg"]
        assert body["data"]["total"] == 1300
        rows = body["data"]["rows"]
        if not rows:
            break
        seen.extend(r["bianhao"] for r in rows)
        page += 1
    assert page == 8  # 7 full-ish pages, then an empty one
    assert len(seen) == 1300 == len(set(seen))
    assert seen == sorted(seen) and seen[0] == "ZD-0001" and seen[-1] == "ZD-1300"


async def test_station_row_fields(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{mocks.url}/community/api/zhandian/list?pageSize=500&pageNo=2")
    assert status == 200
    rows = body["data"]["rows"]
    assert len(rows) == 500
    for row in rows:
        assert set(row) == {
            "bianhao",
            "mingcheng",
            "jiezhen",
            "dizhi",
            "jingdu",
            "weidu",
            "yingye_shijian",
            "fuwu_xiangmu",
            "lianxi_dianhua",
        }
        assert re.fullmatch(r"ZD-\d{4}", row["bianhao"])
        assert row["mingcheng"].startswith(row["jiezhen"])
        assert row["jiezhen"].endswith(("镇", "街道"))
        assert isinstance(row["jingdu"], float) and isinstance(row["weidu"], float)
        assert 30.85 <= row["weidu"] <= 31.40 and 121.45 <= row["jingdu"] <= 121.98
        assert HOURS.fullmatch(row["yingye_shijian"])
        codes = row["fuwu_xiangmu"].split(",")
        assert 4 <= len(codes) <= 15 and all(ALL_CODES.fullmatch(c) for c in codes)
        assert re.fullmatch(r"021-\d{8}", row["lianxi_dianhua"])


async def test_services_list(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{mocks.url}/community/api/fuwu/list?pageNo=1&pageSize=50")
    assert status == 200 and body["code"] == 0
    rows = body["data"]["rows"]
    assert body["data"]["total"] == len(rows) >= 6
    for row in rows:
        assert re.fullmatch(r"SQ-\d{3}", row["bianma"])
        assert row["mingcheng"] and row["yingwen_mingcheng"].isascii() and row["miaoshu"]
        assert row["leibie"] in {"wenhua", "yanglao", "shequ", "shenghuo", "zhiyuan"}
        assert set(row["qudao"].split(",")) <= {"chuangkou", "app", "weixin", "zizhuji", "wangshang"}
        assert isinstance(row["shoufei"], int) and row["shoufei"] >= 0
        assert isinstance(row["banli_tianshu"], int)
        assert 1 <= len(row["cailiao"].split(";")) <= 4
        assert re.fullmatch(r"2018\d{4}", row["gengxin_riqi"])
        service = WORLD.service(row["bianma"])
        assert service is not None
        assert row["tiaojian"] == [
            {
                "fact": c.fact,
                "op": c.op,
                "value": list(c.value) if isinstance(c.value, tuple) else c.value,
                "text": c.text_zh,
            }
            for c in service.criteria
        ]
    assert any(r["shoufei"] > 0 for r in rows) and any(r["shoufei"] == 0 for r in rows)
    assert any(r["tiaojian"] for r in rows) and any(not r["tiaojian"] for r in rows)


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}])
async def test_api_key_required(
    mocks: RunningMocks, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for path in ("zhandian", "fuwu"):
        status, body = await get(http, f"{mocks.url}/community/api/{path}/list", headers=headers)
        assert status == 401
        assert body["code"] == 401 and body["data"] is None


@pytest.mark.parametrize(
    "query",
    [
        "pageSize=0",
        "pageSize=501",
        "pageSize=abc",
        "pageSize=-1",
        "pageSize=1.5",
        "pageNo=0",
        "pageNo=x",
        "pageSize=99999999999999999999",
    ],
)
async def test_bad_paging_is_400_envelope(
    mocks: RunningMocks, http: aiohttp.ClientSession, query: str
) -> None:
    status, body = await get(http, f"{mocks.url}/community/api/zhandian/list?{query}")
    assert status == 400
    assert body["code"] == 400 and body["data"] is None and body["msg"]


async def test_page_past_the_end_is_empty(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{mocks.url}/community/api/zhandian/list?pageNo=99&pageSize=500")
    assert status == 200 and body["data"] == {"total": 1300, "rows": []}


async def test_default_page_size(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    _, body = await get(http, f"{mocks.url}/community/api/zhandian/list")
    assert len(body["data"]["rows"]) == 20


async def test_openapi_describes_the_routes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, spec = await get(http, f"{mocks.url}/community/openapi.json", headers={})
    assert status == 200
    assert spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": "/community"}]
    assert set(spec["paths"]) == {"/api/zhandian/list", "/api/fuwu/list"}
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "X-Api-Key"
    params = {p["name"]: p for p in spec["paths"]["/api/zhandian/list"]["get"]["parameters"]}
    assert params["pageSize"]["schema"]["maximum"] == 500
    station_fields = set(spec["components"]["schemas"]["Zhandian"]["properties"])
    _, body = await get(http, f"{mocks.url}/community/api/zhandian/list?pageSize=1")
    assert station_fields == set(body["data"]["rows"][0])
    service_schema = spec["components"]["schemas"]["Fuwu"]
    _, body = await get(http, f"{mocks.url}/community/api/fuwu/list?pageSize=1")
    assert (
        set(service_schema["properties"]) == set(service_schema["required"]) == set(body["data"]["rows"][0])
    )
    criterion = service_schema["properties"]["tiaojian"]["items"]
    assert set(criterion["properties"]) == {"fact", "op", "value", "text"}
