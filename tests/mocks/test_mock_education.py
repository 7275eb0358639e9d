"""education: {code, message, result} envelope, OAuth2 tokens, pageNum/pageSize, epoch millis, states."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import CaseStatus, build_world, id_check_char
from tests.mocks.support import fetch_token

WORLD = build_world()
UNKNOWN = "31011519000101999" + id_check_char("31011519000101999")  # valid, nobody's
PREFIX = "/education"
FORM = {"grant_type": "client_credentials", "client_id": "onestop", "client_secret": "edu-secret"}
ITEM_FIELDS = {
    "itemCode",
    "itemName",
    "itemNameEn",
    "itemDesc",
    "itemType",
    "channelList",
    "feeFen",
    "limitDays",
    "materialList",
    "modifyTime",
    "conditions",
}
CASE_FIELDS = {"caseNo", "itemCode", "state", "applyTime", "updateTime", "nextStep", "expectTime", "flowList"}
STATES = {
    CaseStatus.SUBMITTED: "RECEIVED",
    CaseStatus.ACCEPTED: "ACCEPTED",
    CaseStatus.IN_REVIEW: "REVIEWING",
    CaseStatus.NEEDS_INFO: "SUPPLEMENT",
    CaseStatus.APPROVED: "PASSED",
    CaseStatus.REJECTED: "REJECTED",
    CaseStatus.COMPLETED: "FINISHED",
    CaseStatus.WITHDRAWN: "CANCELLED",
}


async def token(http: aiohttp.ClientSession, mocks: RunningMocks) -> str:
    return await fetch_token(http, f"{mocks.url}{PREFIX}/oauth2/token", FORM, expires_in=600)


async def get(
    http: aiohttp.ClientSession,
    mocks: RunningMocks,
    path: str,
    params: dict[str, str] | None = None,
    bearer: str | None = None,
) -> tuple[int, Any]:
    headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    async with http.get(f"{mocks.url}{PREFIX}{path}", params=params or {}, headers=headers) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_services_in_the_envelope_walk_every_page(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    bearer = await token(http, mocks)
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        status, body = await get(
            http, mocks, "/api/v1/services", {"pageNum": str(page), "pageSize": "3"}, bearer
        )
        assert status == 200 and body["code"] == 200 and body["message"] == "OK"
        assert set(body["result"]) == {"total", "list"}
        items.extend(body["result"]["list"])
        if page * 3 >= body["result"]["total"]:
            break
        page += 1
    assert [i["itemCode"] for i in items] == [s.code for s in WORLD.services_of("education")]
    for item, service in zip(items, WORLD.services_of("education"), strict=True):
        assert set(item) == ITEM_FIELDS
        assert item["modifyTime"] == int(service.updated_at.timestamp() * 1000)
        assert set(item["channelList"]) <= {"window", "website", "mobileApp", "weChat", "selfService"}
        assert all(set(c) == {"fact", "op", "value", "text"} for c in item["conditions"])
    assert items[0]["conditions"][0] == {"fact": "age", "op": ">=", "value": 6, "text": "年满6周岁"}


@pytest.mark.parametrize(
    "params", [{"pageNum": "0"}, {"pageSize": "0"}, {"pageSize": "101"}, {"pageNum": "x"}, {"pageSize": "-1"}]
)
async def test_bad_paging_is_400_in_the_envelope(
    mocks: RunningMocks, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, body = await get(http, mocks, "/api/v1/services", params, await token(http, mocks))
    assert status == 400 and body["code"] == 400 and body["result"] is None


@pytest.mark.parametrize("path", ["/api/v1/services", "/api/v1/cases?idCard=x"])
@pytest.mark.parametrize("bearer", [None, "made-up"])
async def test_token_required(
    mocks: RunningMocks, http: aiohttp.ClientSession, path: str, bearer: str | None
) -> None:
    status, body = await get(http, mocks, path, bearer=bearer)
    assert status == 401 and body["code"] == 401 and body["result"] is None


async def test_expired_tokens_are_refused(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    async with http.post(f"{mocks.url}/_admin/tokens/expire") as response:
        assert response.status == 200
    status, body = await get(http, mocks, "/api/v1/services", bearer=bearer)
    assert status == 401 and body["code"] == 401


async def test_client_credentials_as_basic(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": aiohttp.encode_basic_auth("onestop", "edu-secret")}
    url = f"{mocks.url}{PREFIX}/oauth2/token"
    async with http.post(url, data={"grant_type": "client_credentials"}, headers=headers) as response:
        assert response.status == 200 and (await response.json())["access_token"]


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({**FORM, "client_secret": "wrong"}, 401, "invalid_client"),
        ({**FORM, "client_id": "someone"}, 401, "invalid_client"),
        ({k: v for k, v in FORM.items() if k != "client_secret"}, 401, "invalid_client"),
        ({k: v for k, v in FORM.items() if k != "grant_type"}, 400, "invalid_request"),
        ({**FORM, "grant_type": "password"}, 400, "unsupported_grant_type"),
    ],
)
async def test_token_refusals(
    mocks: RunningMocks, http: aiohttp.ClientSession, form: dict[str, str], status: int, error: str
) -> None:
    async with http.post(f"{mocks.url}{PREFIX}/oauth2/token", data=form) as response:
        assert response.status == status and (await response.json())["error"] == error


async def test_cases_in_the_bureaus_words(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    for canonical, word in STATES.items():
        case = next(c for c in WORLD.cases_of("education") if c.status == canonical)
        status, body = await get(http, mocks, "/api/v1/cases", {"idCard": case.resident}, bearer)
        assert status == 200 and body["code"] == 200
        item = next(i for i in body["result"]["list"] if i["caseNo"] == case.ref)
        assert set(item) == CASE_FIELDS
        assert item["state"] == word and item["itemCode"] == case.service
        assert item["applyTime"] == int(case.submitted_at.timestamp() * 1000)
        assert [f["state"] for f in item["flowList"]] == [STATES[e.status] for e in case.history]
        assert [f["time"] for f in item["flowList"]] == [int(e.at.timestamp() * 1000) for e in case.history]
        assert (item["expectTime"] is None) == (case.expected_completion is None)


async def test_cases_page_and_unknown_residents(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    resident = WORLD.cases_of("education")[0].resident
    count = sum(1 for c in WORLD.cases_of_resident(resident) if c.department == "education")
    status, body = await get(http, mocks, "/api/v1/cases", {"idCard": resident, "pageSize": "1"}, bearer)
    assert status == 200 and body["result"]["total"] == count and len(body["result"]["list"]) == 1
    status, body = await get(http, mocks, "/api/v1/cases", {"idCard": UNKNOWN}, bearer)
    assert status == 200 and body["result"] == {"total": 0, "list": []}


@pytest.mark.parametrize("params", [{}, {"idCard": ""}])
async def test_cases_need_an_id_card(
    mocks: RunningMocks, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    status, body = await get(http, mocks, "/api/v1/cases", params, await token(http, mocks))
    assert status == 400 and body["code"] == 400


async def test_openapi(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}{PREFIX}/openapi.json") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/oauth2/token",
        "/api/v1/services",
        "/api/v1/cases",
        "/api/v1/applications",
    }
    flows = spec["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "/education/oauth2/token"
    assert set(spec["components"]["schemas"]["Item"]["properties"]) == ITEM_FIELDS
    assert set(spec["components"]["schemas"]["Case"]["properties"]) == CASE_FIELDS


async def test_failure_is_http_200_with_code_500(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    async with http.put(f"{mocks.url}/_admin/faults/education", json={"error_rate": 1.0}) as response:
        assert response.status == 200
    status, body = await get(http, mocks, "/api/v1/services", bearer=bearer)
    assert status == 200 and body["code"] == 500 and body["result"] is None


async def test_malformed_body(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    async with http.put(f"{mocks.url}/_admin/faults/education", json={"malformed": True}) as response:
        assert response.status == 200
    headers = {"Authorization": f"Bearer {bearer}"}
    async with http.get(f"{mocks.url}{PREFIX}/api/v1/services", headers=headers) as response:
        assert response.status == 200 and response.content_type == "application/json"
        text = await response.text()
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
