"""culture-tourism: one UTF-8 CSV file with a BOM, no auth, criteria as JSON in a column."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import build_world

WORLD = build_world()
URL = "/culture-tourism/data/services.csv"
COLUMNS = [
    "code",
    "name",
    "name_en",
    "description",
    "category",
    "channels",
    "fee_fen",
    "days",
    "documents",
    "updated",
    "criteria",
]


async def fetch(http: aiohttp.ClientSession, mocks: RunningMocks) -> tuple[int, str, bytes]:
    async with http.get(f"{mocks.url}{URL}") as response:
        return response.status, response.headers["Content-Type"], await response.read()


async def test_every_service_once_in_utf8_with_bom(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, content_type, body = await fetch(http, mocks)
    assert status == 200 and content_type == "text/csv; charset=utf-8"
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline=""), strict=True))
    assert rows and list(rows[0]) == COLUMNS
    seeded = WORLD.services_of("culture-tourism")
    assert [r["code"] for r in rows] == [s.code for s in seeded]
    for row, service in zip(rows, seeded, strict=True):
        assert row["name"] == service.name_zh and row["category"] == service.category
        assert set(row["channels"].split(";")) <= {"现场", "网站", "App", "微信公众号", "自助终端"}
        assert row["documents"].split(";") == list(service.documents)
        assert int(row["fee_fen"]) == service.fee_fen and int(row["days"]) == service.processing_days
        assert date.fromisoformat(row["updated"]) == service.updated_at.date()
        criteria = json.loads(row["criteria"])
        assert [(c["fact"], c["op"], c["value"], c["text"]) for c in criteria] == [
            (c.fact, c.op, c.value, c.text_zh) for c in service.criteria
        ]
        assert ", " not in row["criteria"] and ": " not in row["criteria"]  # compact JSON


async def test_no_auth_and_no_paging(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    """Query parameters a paging client might send change nothing: there is one file."""
    _, _, whole = await fetch(http, mocks)
    async with http.get(f"{mocks.url}{URL}", params={"offset": "2", "limit": "1"}) as response:
        assert response.status == 200 and await response.read() == whole


async def test_openapi(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/culture-tourism/openapi.json") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"].startswith("3.") and list(spec["paths"]) == ["/data/services.csv"]
    assert all(column in spec["info"]["description"] for column in COLUMNS)


async def test_failure_is_the_proxys_error_page(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/culture-tourism", json={"error_rate": 1.0}) as response:
        assert response.status == 200
    async with http.get(f"{mocks.url}{URL}") as response:
        assert response.status == 500 and response.content_type == "text/html"
        assert "nginx" in await response.text()


async def test_malformed_file_cannot_be_read(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    _, _, whole = await fetch(http, mocks)
    async with http.put(f"{mocks.url}/_admin/faults/culture-tourism", json={"malformed": True}) as response:
        assert response.status == 200
    status, content_type, body = await fetch(http, mocks)
    assert status == 200 and content_type == "text/csv; charset=utf-8"
    assert len(body) < len(whole)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8-sig")
