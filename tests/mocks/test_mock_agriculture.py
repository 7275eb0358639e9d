"""agriculture: GB18030 CSV exports with Chinese headers, HTTP Basic, one resident per request."""

from __future__ import annotations

import csv
import io
import json
import re

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import DEFAULT_SEED, FIXTURE_RESIDENTS, build_world, id_check_char
from tests.conftest import Admin

WORLD = build_world(DEFAULT_SEED)
AUTH = {"Authorization": aiohttp.encode_basic_auth("onestop", "ny-secret")}
SERVICES = "/agriculture/export/services.csv"
HOUSEHOLD = "/agriculture/export/household.csv"
SERVICE_COLUMNS = [
    "事项编码",
    "事项名称",
    "英文名称",
    "说明",
    "类别",
    "渠道",
    "收费(分)",
    "时限",
    "材料",
    "更新日期",
    "条件",
]
HOUSEHOLD_COLUMNS = ["身份证号", "户号", "农户类型", "承包地面积(亩)", "更新日期"]
UNKNOWN_ID = "31011519000101123" + id_check_char("31011519000101123")


async def fetch(
    http: aiohttp.ClientSession, mocks: RunningMocks, path: str, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    async with http.get(f"{mocks.url}{path}", headers=AUTH if headers is None else headers) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


def rows_of(raw: bytes) -> list[list[str]]:
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really GB18030, not UTF-8 with a label
    return list(csv.reader(io.StringIO(raw.decode("gb18030"), newline="")))


def resident(name: str) -> str:
    return WORLD.residents[FIXTURE_RESIDENTS[name]].id_number


async def test_services_export(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, content_type, raw = await fetch(http, mocks, SERVICES)
    assert status == 200 and content_type == "text/csv; charset=GB18030"
    header, *rows = rows_of(raw)
    assert header == SERVICE_COLUMNS
    services = WORLD.services_of("agriculture")
    assert [r[0] for r in rows] == [s.code for s in services] and len(rows) >= 3
    for row, service in zip(rows, services, strict=True):
        assert row[1] == service.name_zh and row[4] == "rural"
        assert set(row[5].split("、")) <= {"窗口", "网上", "APP", "微信", "自助机"}
        assert row[8].split("、") == list(service.documents)
        assert int(row[6]) == service.fee_fen and int(row[7]) == service.processing_days
        assert re.fullmatch(r"20\d{6}", row[9])
        assert ": " not in row[10] and ", " not in row[10]  # compact JSON
        criteria = json.loads(row[10])
        assert [(c["fact"], c["op"], c["text"]) for c in criteria] == [
            (c.fact, c.op, c.text_zh) for c in service.criteria
        ]
    criteria = [c for r in rows for c in json.loads(r[10])]
    assert {"fact": "employment_status", "op": "in", "value": ["UNEMPLOYED", "FLEXIBLE"]}.items() <= next(
        c for c in criteria if c["op"] == "in"
    ).items()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": aiohttp.encode_basic_auth("onestop", "wrong")},
        {"Authorization": aiohttp.encode_basic_auth("guest", "ny-secret")},
        {"Authorization": "Basic !!!"},
    ],
)
@pytest.mark.parametrize("path", [SERVICES, f"{HOUSEHOLD}?sfzh={UNKNOWN_ID}"])
async def test_bad_credentials_are_401(
    mocks: RunningMocks, http: aiohttp.ClientSession, headers: dict[str, str], path: str
) -> None:
    async with http.get(f"{mocks.url}{path}", headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")


async def test_rural_head_holds_a_land_contract(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    head = WORLD.resident(resident("rural_head"))
    assert head is not None and head.land_contract_mu is not None
    status, _, raw = await fetch(http, mocks, f"{HOUSEHOLD}?sfzh={head.id_number}")
    assert status == 200
    assert rows_of(raw) == [
        HOUSEHOLD_COLUMNS,
        [head.id_number, head.household_id, "承包农户", f"{head.land_contract_mu:.1f}", "20260331"],
    ]


@pytest.mark.parametrize("name", ["rural_spouse", "senior_pudong", "child"])
async def test_others_have_no_contracted_land(
    mocks: RunningMocks, http: aiohttp.ClientSession, name: str
) -> None:
    person = WORLD.resident(resident(name))
    assert person is not None and person.land_contract_mu is None
    _, _, raw = await fetch(http, mocks, f"{HOUSEHOLD}?sfzh={person.id_number}")
    assert rows_of(raw)[1] == [person.id_number, person.household_id, "非农户", "", "20260331"]


async def test_unknown_resident_is_the_header_alone(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, content_type, raw = await fetch(http, mocks, f"{HOUSEHOLD}?sfzh={UNKNOWN_ID}")
    assert status == 200 and content_type == "text/csv; charset=GB18030"
    assert raw.decode("gb18030").splitlines() == [",".join(HOUSEHOLD_COLUMNS)]


@pytest.mark.parametrize(
    "query", ["", "?sfzh=", "?sfzh=12345", f"?sfzh={UNKNOWN_ID[:-1]}0", "?sfzh=%E4%B8%AD"]
)
async def test_missing_or_invalid_id_is_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, query: str
) -> None:
    status, content_type, raw = await fetch(http, mocks, f"{HOUSEHOLD}{query}")
    assert status == 400 and content_type.startswith("text/plain")
    assert raw.decode("gb18030").startswith("参数错误")


async def test_openapi_describes_the_routes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/agriculture/openapi.json") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"].startswith("3.") and spec["servers"] == [{"url": "/agriculture"}]
    assert set(spec["paths"]) == {"/export/services.csv", "/export/household.csv"}
    assert spec["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}
    params = spec["paths"]["/export/household.csv"]["get"]["parameters"]
    assert [(p["name"], p["required"]) for p in params] == [("sfzh", True)]


async def test_failure_is_nginx_502(mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin) -> None:
    await admin.fault("agriculture", error_rate=1)
    status, content_type, raw = await fetch(http, mocks, SERVICES)
    assert status == 502 and content_type.startswith("text/html") and b"nginx" in raw


async def test_malformed_is_a_broken_gb18030_csv(
    mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    _, _, good = await fetch(http, mocks, SERVICES)
    await admin.fault("agriculture", malformed=True)
    status, content_type, raw = await fetch(http, mocks, SERVICES)
    assert status == 200 and content_type == "text/csv; charset=GB18030" and raw != good
    with pytest.raises(UnicodeDecodeError):
        raw.decode("gb18030")
