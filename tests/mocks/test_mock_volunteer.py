"""volunteer: CSV in UTF-8 (no BOM), API key header, offset/limit with X-Total-Count, batch of 100."""

from __future__ import annotations

import csv
import io
import json
import secrets
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import FIXTURE_RESIDENTS, REFERENCE_DAY, build_world
from tests.mocks.support import json_value, unknown_id

WORLD = build_world()
KEY = {"X-Api-Key": "zy-dev-key"}
SERVICE_COLUMNS = [
    "code",
    "name_zh",
    "name_en",
    "description",
    "category",
    "channels",
    "fee_fen",
    "processing_days",
    "documents",
    "updated",
    "criteria",
]
HOURS_COLUMNS = ["id_number", "volunteer_hours", "star_level", "updated"]
SENIOR = WORLD.residents[FIXTURE_RESIDENTS["senior_pudong"]]


async def fetch(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], list[list[str]]]:
    """Status, headers and the CSV rows (header row first) of one request."""
    async with http.get(url, headers=KEY if headers is None else headers) as response:
        raw = await response.read()
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert not raw.startswith(b"\xef\xbb\xbf")  # no BOM
        return (
            response.status,
            dict(response.headers),
            list(csv.reader(io.StringIO(raw.decode(), newline=""))),
        )


async def test_service_pages_cover_everything_once(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    rows: list[list[str]] = []
    for offset in range(0, 10, 3):
        status, headers, page = await fetch(
            http, f"{mocks.url}/volunteer/csv/services?offset={offset}&limit=3"
        )
        assert status == 200 and page[0] == SERVICE_COLUMNS
        rows.extend(page[1:])
        if offset + 3 >= int(headers["X-Total-Count"]):
            break
    seeded = WORLD.services_of("volunteer")
    assert int(headers["X-Total-Count"]) == len(seeded) == len(rows)
    assert [r[0] for r in rows] == [s.code for s in seeded]
    for row, service in zip(rows, seeded, strict=True):
        item = dict(zip(SERVICE_COLUMNS, row, strict=True))
        assert (item["name_zh"], item["name_en"], item["category"]) == (
            service.name_zh,
            service.name_en,
            "volunteer",
        )
        assert set(item["channels"].split(";")) <= {"station", "web", "app", "wechat", "kiosk"}
        assert item["documents"].split(";") == list(service.documents)
        assert (int(item["fee_fen"]), int(item["processing_days"])) == (
            service.fee_fen,
            service.processing_days,
        )
        assert item["updated"] == service.updated_at.strftime("%Y%m%d")
        assert json.loads(item["criteria"]) == [
            {"fact": c.fact, "op": c.op, "value": json_value(c.value), "text": c.text_zh}
            for c in service.criteria
        ]
        assert ": " not in item["criteria"] and ", " not in item["criteria"]  # compact JSON


async def test_offset_past_the_end_has_only_the_header(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    status, _, page = await fetch(http, f"{mocks.url}/volunteer/csv/services?offset=500&limit=100")
    assert status == 200 and page == [SERVICE_COLUMNS]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "offset=-1", "offset=x", "limit=2.5"])
async def test_bad_paging_is_400(mocks: RunningMocks, http: aiohttp.ClientSession, query: str) -> None:
    status, _, page = await fetch(http, f"{mocks.url}/volunteer/csv/services?{query}")
    assert status == 400 and page[0] == ["code", "message"] and page[1][0] == "400"


async def test_hours_one_row_per_known_resident(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    sample = [SENIOR, *WORLD.residents[10:3000:40]]
    ids = [r.id_number for r in sample]
    asked = [*ids[:30], unknown_id(), *ids[30:], ids[0]]  # an unknown one and a repeat
    status, _, page = await fetch(http, f"{mocks.url}/volunteer/csv/hours?ids={','.join(asked)}")
    assert status == 200 and page[0] == HOURS_COLUMNS
    rows = {r[0]: dict(zip(HOURS_COLUMNS, r, strict=True)) for r in page[1:]}
    assert len(page) - 1 == len(rows) == len(ids) and list(rows) == ids
    for resident in sample:
        row = rows[resident.id_number]
        assert int(row["volunteer_hours"]) == resident.volunteer_hours
        assert 0 <= int(row["star_level"]) <= 5
        assert row["updated"] == REFERENCE_DAY.strftime("%Y%m%d")
    assert rows[SENIOR.id_number]["volunteer_hours"] == "120" and rows[SENIOR.id_number]["star_level"] == "1"


async def test_a_hundred_is_the_limit(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    ids = [r.id_number for r in WORLD.residents[:101]]
    status, _, page = await fetch(http, f"{mocks.url}/volunteer/csv/hours?ids={','.join(ids[:100])}")
    assert status == 200 and len(page) == 101
    status, _, page = await fetch(http, f"{mocks.url}/volunteer/csv/hours?ids={','.join(ids)}")
    assert status == 400 and page == [["code", "message"], ["400", "at most 100 ids per request"]]


@pytest.mark.parametrize("query", ["", "ids=", "ids=,", "ids=123", "ids=31011519000101999X"])
async def test_bad_or_missing_ids_are_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, query: str
) -> None:
    status, _, page = await fetch(http, f"{mocks.url}/volunteer/csv/hours?{query}")
    assert status == 400 and page[0] == ["code", "message"]


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}])
async def test_api_key_required(
    mocks: RunningMocks, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for path in ("services", f"hours?ids={SENIOR.id_number}"):
        status, _, page = await fetch(http, f"{mocks.url}/volunteer/csv/{path}", headers)
        assert status == 401 and page[1][0] == "401"


async def test_failure_style_is_http_500_csv(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/volunteer", json={"error_rate": 1}) as response:
        assert response.status == 200
    status, _, page = await fetch(http, f"{mocks.url}/volunteer/csv/services")
    assert status == 500 and page == [["code", "message"], ["500", "系统繁忙"]]


async def test_malformed_csv_cannot_pass_for_a_short_page(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/volunteer", json={"malformed": True}) as response:
        assert response.status == 200
    for path in ("services?limit=100", f"hours?ids={SENIOR.id_number}"):
        async with http.get(f"{mocks.url}/volunteer/csv/{path}", headers=KEY) as response:
            assert response.status == 200 and response.content_type == "text/csv"
            raw = await response.read()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")


async def test_openapi_describes_the_routes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/volunteer/openapi.json") as response:
        assert response.status == 200
        spec: dict[str, Any] = await response.json()
    assert spec["openapi"].startswith("3.") and spec["servers"] == [{"url": "/volunteer"}]
    assert set(spec["paths"]) == {"/csv/services", "/csv/hours", "/csv/volunteers", "/csv/hours/report"}
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "X-Api-Key"
    params = {p["name"]: p for p in spec["paths"]["/csv/services"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 100
    ok = spec["paths"]["/csv/services"]["get"]["responses"]["200"]
    assert "X-Total-Count" in ok["headers"] and ",".join(SERVICE_COLUMNS) in ok["description"]
    hours_ok = spec["paths"]["/csv/hours"]["get"]["responses"]["200"]
    assert ",".join(HOURS_COLUMNS) in hours_ok["description"]


REPORT_HEADER = "report_no,id_number,hours,served_on,activity\r\n"


async def report(http: aiohttp.ClientSession, url: str, row: str) -> tuple[int, list[list[str]]]:
    headers = KEY | {"Content-Type": "text/csv; charset=utf-8"}
    async with http.post(f"{url}/volunteer/csv/hours/report", data=REPORT_HEADER + row, headers=headers) as r:
        return r.status, list(csv.reader(io.StringIO((await r.read()).decode(), newline="")))


async def test_the_register_lists_only_registered_volunteers(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    idle = next(r for r in WORLD.residents if r.volunteer_hours == 0)
    url = f"{mocks.url}/volunteer/csv/volunteers?ids={SENIOR.id_number},{idle.id_number}"
    status, _, rows = await fetch(http, url)
    assert status == 200 and rows[0] == ["id_number", "volunteer_no", "status", "registered"]
    assert [r[0] for r in rows[1:]] == [SENIOR.id_number]
    assert rows[1][1].startswith("ZY")
    status, _, _ = await fetch(http, url, headers={})
    assert status == 401


async def test_an_hours_report_is_filed_once_per_report_number(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    number = f"mock-test-{secrets.token_hex(6)}"
    row = f"{number},{SENIOR.id_number},1.5,20261201,act-1\r\n"
    status, first = await report(http, mocks.url, row)
    assert status == 200 and first[0] == ["report_no", "id_number", "hours", "total_hours", "result"]
    assert first[1][2] == "1.5" and first[1][4] == "accepted"
    status, again = await report(http, mocks.url, row)
    assert status == 200 and again[1][:4] == first[1][:4] and again[1][4] == "duplicate"
    status, _ = await report(http, mocks.url, row.replace("1.5", "2.5"))
    assert status == 409
    idle = next(r for r in WORLD.residents if r.volunteer_hours == 0)
    status, _ = await report(http, mocks.url, f"{number}x,{idle.id_number},1.0,20261201,act-1\r\n")
    assert status == 404
    status, _ = await report(http, mocks.url, f"{number}y,{SENIOR.id_number},99,20261201,act-1\r\n")
    assert status == 400
