"""hrss: OAuth2 client credentials, GB18030 CSV, offset/limit paging."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import build_world
from tests.mocks.support import fetch_token

WORLD = build_world()

COLUMNS = [
    "事项编码",
    "事项名称",
    "英文名称",
    "事项说明",
    "类别",
    "办理渠道",
    "收费标准(分)",
    "办理时限(工作日)",
    "申请材料",
    "更新时间",
    "申请条件",
]


def criteria(code: str) -> list[dict[str, object]]:
    """The world's criteria of a service as the export writes them (lists for `in`)."""
    service = WORLD.service(code)
    assert service is not None
    return [
        {
            "fact": c.fact,
            "op": c.op,
            "value": list(c.value) if isinstance(c.value, tuple) else c.value,
            "text": c.text_zh,
        }
        for c in service.criteria
    ]


FORM = {"grant_type": "client_credentials", "client_id": "onestop", "client_secret": "hrss-secret"}


async def token(http: aiohttp.ClientSession, mocks: RunningMocks) -> str:
    return await fetch_token(http, f"{mocks.url}/hrss/oauth/token", FORM, expires_in=300)


async def export(
    http: aiohttp.ClientSession, mocks: RunningMocks, query: str, bearer: str | None
) -> aiohttp.ClientResponse:
    headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    response = await http.get(f"{mocks.url}/hrss/export/services.csv?{query}", headers=headers)
    await response.read()
    response.release()
    return response


async def test_token_by_basic_auth(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    basic = {"Authorization": aiohttp.encode_basic_auth("onestop", "hrss-secret")}
    async with http.post(
        f"{mocks.url}/hrss/oauth/token", data={"grant_type": "client_credentials"}, headers=basic
    ) as response:
        assert response.status == 200
        assert (await response.json())["token_type"] == "Bearer"


@pytest.mark.parametrize(
    "form",
    [
        {**FORM, "client_secret": "nope"},
        {**FORM, "client_id": "someone"},
        {"grant_type": "client_credentials"},
    ],
)
async def test_bad_client_is_401(
    mocks: RunningMocks, http: aiohttp.ClientSession, form: dict[str, str]
) -> None:
    async with http.post(f"{mocks.url}/hrss/oauth/token", data=form) as response:
        assert response.status == 401
        assert await response.json() == {"error": "invalid_client"}


async def test_bad_basic_auth_is_401(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    basic = {"Authorization": aiohttp.encode_basic_auth("onestop", "wrong")}
    async with http.post(
        f"{mocks.url}/hrss/oauth/token", data={"grant_type": "client_credentials"}, headers=basic
    ) as response:
        assert response.status == 401
        assert await response.json() == {"error": "invalid_client"}


async def test_bad_grant_type_is_400(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    url = f"{mocks.url}/hrss/oauth/token"
    async with http.post(url, data={**FORM, "grant_type": "password"}) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "unsupported_grant_type"
    async with http.post(url, json=FORM) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_request"


async def test_csv_is_gb18030_and_pages_cover_everything_once(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    bearer = await token(http, mocks)
    rows: list[list[str]] = []
    offset = 0
    while True:
        async with http.get(
            f"{mocks.url}/hrss/export/services.csv?offset={offset}&limit=4",
            headers={"Authorization": f"Bearer {bearer}"},
        ) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/csv; charset=GB18030"
            total = int(response.headers["X-Total-Count"])
            raw = await response.read()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")  # really GB18030, not UTF-8 with a label
        page = list(csv.reader(io.StringIO(raw.decode("gb18030"), newline="")))
        assert page[0] == COLUMNS
        rows.extend(page[1:])
        offset += 4
        if offset >= total:
            break
    assert total == len(rows) >= 5
    codes = [r[0] for r in rows]
    assert len(set(codes)) == len(codes) and all(re.fullmatch(r"RS-\d{3}", c) for c in codes)
    for row in rows:
        assert len(row) == len(COLUMNS)
        assert row[4] in {"就业", "社保", "人才"}
        assert set(row[5].split("|")) <= {"窗口", "网上", "APP", "微信", "自助机"}
        assert int(row[6]) >= 0 and int(row[7]) >= 0
        assert 1 <= len(row[8].split("|")) <= 4
        updated = datetime.fromtimestamp(int(row[9]) / 1000, tz=UTC)
        assert updated.year == 2018
        assert json.loads(row[10]) == criteria(row[0]) and ": " not in row[10]  # compact JSON
    assert any(int(r[6]) > 0 for r in rows)


async def test_offset_past_the_end_has_only_the_header(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    bearer = await token(http, mocks)
    async with http.get(
        f"{mocks.url}/hrss/export/services.csv?offset=500&limit=100",
        headers={"Authorization": f"Bearer {bearer}"},
    ) as response:
        assert response.status == 200
        lines = (await response.read()).decode("gb18030").splitlines()
    assert lines == [",".join(COLUMNS)]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "offset=-1", "offset=x", "limit=2.5"])
async def test_bad_paging_is_400(mocks: RunningMocks, http: aiohttp.ClientSession, query: str) -> None:
    response = await export(http, mocks, query, await token(http, mocks))
    assert response.status == 400


@pytest.mark.parametrize("bearer", [None, "", "not-a-token"])
async def test_missing_or_unknown_token_is_401(
    mocks: RunningMocks, http: aiohttp.ClientSession, bearer: str | None
) -> None:
    response = await export(http, mocks, "offset=0&limit=5", bearer)
    assert response.status == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


async def test_admin_can_expire_tokens(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    old = await token(http, mocks)
    assert (await export(http, mocks, "limit=5", old)).status == 200
    async with http.post(f"{mocks.url}/_admin/tokens/expire") as response:
        assert response.status == 200
        assert (await response.json())["expired"] >= 1
    assert (await export(http, mocks, "limit=5", old)).status == 401
    fresh = await token(http, mocks)
    assert fresh != old
    assert (await export(http, mocks, "limit=5", fresh)).status == 200


async def test_openapi(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/hrss/openapi.json") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/oauth/token",
        "/export/services.csv",
        "/export/employment.csv",
        "/export/cases.csv",
        "/api/shenbao",
    }
    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/hrss/oauth/token"
