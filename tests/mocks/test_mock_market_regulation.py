"""market-regulation: {success, errorCode, errorMsg, data} envelope, OAuth2 (Basic only), offset/limit,
ISO dates, integer case statuses."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import DEFAULT_SEED, CaseStatus, build_world, id_check_char
from tests.conftest import Admin
from tests.mocks.support import bearer, fetch_token

WORLD = build_world(DEFAULT_SEED)
TOKEN = "/market-regulation/auth/token"
SERVICES = "/market-regulation/api/services"
CASES = "/market-regulation/api/cases"
BASIC = {"Authorization": aiohttp.encode_basic_auth("onestop", "sc-secret")}
GRANT = {"grant_type": "client_credentials"}
CODES = {
    CaseStatus.SUBMITTED: 10,
    CaseStatus.ACCEPTED: 20,
    CaseStatus.IN_REVIEW: 30,
    CaseStatus.NEEDS_INFO: 35,
    CaseStatus.APPROVED: 40,
    CaseStatus.REJECTED: 50,
    CaseStatus.COMPLETED: 60,
    CaseStatus.WITHDRAWN: 90,
}
UNKNOWN_ID = "31011519000101123" + id_check_char("31011519000101123")


async def token(http: aiohttp.ClientSession, mocks: RunningMocks) -> dict[str, str]:
    return bearer(await fetch_token(http, f"{mocks.url}{TOKEN}", GRANT, expires_in=600, headers=BASIC))


async def get(
    http: aiohttp.ClientSession, mocks: RunningMocks, path: str, headers: dict[str, str]
) -> tuple[int, Any]:
    async with http.get(f"{mocks.url}{path}", headers=headers) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def walk(
    http: aiohttp.ClientSession, mocks: RunningMocks, path: str, limit: int
) -> list[dict[str, Any]]:
    bearer = await token(http, mocks)
    rows: list[dict[str, Any]] = []
    separator = "&" if "?" in path else "?"
    for offset in range(0, 10_000, limit):
        status, body = await get(http, mocks, f"{path}{separator}offset={offset}&limit={limit}", bearer)
        assert status == 200 and body["success"] is True
        assert body["errorCode"] is None and body["errorMsg"] is None
        rows.extend(body["data"]["rows"])
        if offset + limit >= body["data"]["total"]:
            assert len(rows) == body["data"]["total"]
            return rows
    raise AssertionError("pages never ended")


@pytest.mark.parametrize(
    ("form", "headers"),
    [
        ({**GRANT, "client_id": "onestop", "client_secret": "sc-secret"}, {}),  # form credentials refused
        (GRANT, {"Authorization": aiohttp.encode_basic_auth("onestop", "wrong")}),
        (GRANT, {"Authorization": aiohttp.encode_basic_auth("other", "sc-secret")}),
        (GRANT, {}),
    ],
)
async def test_token_needs_basic_client_credentials(
    mocks: RunningMocks, http: aiohttp.ClientSession, form: dict[str, str], headers: dict[str, str]
) -> None:
    async with http.post(f"{mocks.url}{TOKEN}", data=form, headers=headers) as response:
        assert response.status == 401 and await response.json() == {"error": "invalid_client"}


async def test_token_request_must_be_client_credentials(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{mocks.url}{TOKEN}", data={"grant_type": "password"}, headers=BASIC) as response:
        assert response.status == 400 and (await response.json())["error"] == "unsupported_grant_type"
    async with http.post(f"{mocks.url}{TOKEN}", json=GRANT, headers=BASIC) as response:
        assert response.status == 400 and (await response.json())["error"] == "invalid_request"


async def test_service_pages_cover_every_service_once(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    rows = await walk(http, mocks, SERVICES, 1)
    services = WORLD.services_of("market-regulation")
    assert [r["serviceNo"] for r in rows] == [s.code for s in services] and len(rows) >= 3
    for row, service in zip(rows, services, strict=True):
        assert set(row) == {
            "serviceNo",
            "serviceName",
            "serviceNameEn",
            "remark",
            "kind",
            "channels",
            "feeFen",
            "days",
            "materials",
            "lastUpdate",
            "rules",
        }
        assert row["kind"] == "market" and row["serviceName"] == service.name_zh
        assert set(row["channels"]) <= {"OFFLINE", "PC", "APP", "WECHAT", "SELF_SERVICE"}
        assert row["lastUpdate"] == service.updated_at.isoformat()
        assert [(c["fact"], c["op"], c["value"]) for c in row["rules"]] == [
            (c.fact, c.op, c.value) for c in service.criteria
        ]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer ", "Bearer forged", "Basic b25lc3RvcDpzYy1zZWNyZXQ="]
)
async def test_missing_or_unknown_token_is_401(
    mocks: RunningMocks, http: aiohttp.ClientSession, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    status, body = await get(http, mocks, SERVICES, headers)
    assert status == 401 and body["success"] is False and body["errorCode"] == "UNAUTHORIZED"


async def test_expired_token_is_401(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    assert (await get(http, mocks, SERVICES, bearer))[0] == 200
    async with http.post(f"{mocks.url}/_admin/tokens/expire") as response:
        assert (await response.json())["expired"] >= 1
    status, body = await get(http, mocks, f"{CASES}?idCard={UNKNOWN_ID}", bearer)
    assert status == 401 and body["errorCode"] == "UNAUTHORIZED"


@pytest.mark.parametrize("query", ["offset=-1", "offset=x", "limit=0", "limit=101", "limit=1.5"])
async def test_bad_paging_is_400(mocks: RunningMocks, http: aiohttp.ClientSession, query: str) -> None:
    status, body = await get(http, mocks, f"{SERVICES}?{query}", await token(http, mocks))
    assert status == 400 and body["success"] is False and body["errorCode"] == "PARAM_INVALID"


@pytest.mark.parametrize("query", ["", "?idCard=", "?idCard=310115", f"?idCard={UNKNOWN_ID[:-1]}0"])
async def test_missing_or_invalid_id_is_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, query: str
) -> None:
    status, body = await get(http, mocks, f"{CASES}{query}", await token(http, mocks))
    assert (
        status == 400 and body["success"] is False and body["errorCode"] in {"PARAM_MISSING", "PARAM_INVALID"}
    )


async def test_unknown_resident_has_no_cases(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, mocks, f"{CASES}?idCard={UNKNOWN_ID}", await token(http, mocks))
    assert status == 200 and body["data"] == {"total": 0, "rows": []}


async def test_busiest_residents_cases_page_through_once(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    applicant, count = Counter(c.resident for c in WORLD.cases_of("market-regulation")).most_common(1)[0]
    rows = await walk(http, mocks, f"{CASES}?idCard={applicant}", 1)
    expected = [c.ref for c in WORLD.cases_of("market-regulation") if c.resident == applicant]
    assert [r["caseId"] for r in rows] == expected and len(rows) == count


@pytest.mark.parametrize("status", list(CaseStatus))
async def test_every_status_and_event_as_integer_codes(
    mocks: RunningMocks, http: aiohttp.ClientSession, status: CaseStatus
) -> None:
    case = next(c for c in WORLD.cases_of("market-regulation") if c.status is status)
    _, body = await get(http, mocks, f"{CASES}?idCard={case.resident}&limit=100", await token(http, mocks))
    row = next(r for r in body["data"]["rows"] if r["caseId"] == case.ref)
    deadline = case.expected_completion
    assert row == {
        "caseId": case.ref,
        "serviceNo": case.service,
        "statusCode": CODES[status],
        "createdAt": case.submitted_at.isoformat(),
        "updatedAt": case.updated_at.isoformat(),
        "nextAction": case.next_action,
        "deadline": None if deadline is None else deadline.isoformat(),
        "events": [
            {"time": e.at.isoformat(), "statusCode": CODES[e.status], "comment": e.note_zh}
            for e in case.history
        ],
    }


async def test_openapi_describes_the_routes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/market-regulation/v3/api-docs") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"].startswith("3.") and spec["servers"] == [{"url": "/market-regulation"}]
    assert set(spec["paths"]) == {"/auth/token", "/api/services", "/api/cases", "/api/applications"}
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == TOKEN
    assert spec["components"]["schemas"]["Case"]["properties"]["statusCode"]["enum"] == list(CODES.values())


async def test_failure_is_http_200_with_success_false(
    mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    bearer = await token(http, mocks)
    await admin.fault("market-regulation", error_rate=1)
    status, body = await get(http, mocks, SERVICES, bearer)
    assert (
        status == 200
        and body["success"] is False
        and body["errorCode"] == "SYS_BUSY"
        and body["data"] is None
    )


async def test_malformed_is_broken_json(
    mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    bearer = await token(http, mocks)
    await admin.fault("market-regulation", malformed=True)
    async with http.get(f"{mocks.url}{SERVICES}", headers=bearer) as response:
        assert response.status == 200 and response.content_type == "application/json"
        body = await response.read()
    with pytest.raises(ValueError):
        json.loads(body)
