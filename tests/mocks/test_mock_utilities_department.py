"""utilities over HTTP: OAuth2, camelCase JSON, accounts by holder, bills in cursor pages of ≤ 12.

(`test_mock_utilities.py` is taken by the seeded accounts and bills of the world itself.)
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import FIXTURE_RESIDENTS, build_world
from tests.mocks.support import bearer, fetch_token, json_value, unknown_id

WORLD = build_world()
FORM = {"grant_type": "client_credentials", "client_id": "onestop", "client_secret": "gy-secret"}
SERVICE_FIELDS = {
    "code",
    "nameZh",
    "nameEn",
    "description",
    "category",
    "channels",
    "feeFen",
    "processingDays",
    "documents",
    "updatedAt",
    "criteria",
}
HEAD = WORLD.residents[FIXTURE_RESIDENTS["rural_head"]]
SPOUSE = WORLD.residents[FIXTURE_RESIDENTS["rural_spouse"]]
API = "/utilities/api"


async def token(http: aiohttp.ClientSession, mocks: RunningMocks) -> dict[str, str]:
    return bearer(await fetch_token(http, f"{mocks.url}/utilities/oauth/token", FORM, expires_in=300))


async def get(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with http.get(url, headers=headers) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_services(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{mocks.url}{API}/services", await token(http, mocks))
    assert status == 200 and set(body) == {"items"}
    seeded = WORLD.services_of("utilities")
    assert [i["code"] for i in body["items"]] == [s.code for s in seeded]
    for item, service in zip(body["items"], seeded, strict=True):
        assert set(item) == SERVICE_FIELDS and item["category"] == "utilities"
        assert set(item["channels"]) <= {"counter", "online", "app", "wechatPay", "selfServiceTerminal"}
        assert (item["feeFen"], item["processingDays"]) == (service.fee_fen, service.processing_days)
        assert datetime.fromisoformat(item["updatedAt"]) == service.updated_at
        assert item["criteria"] == [
            {"fact": c.fact, "op": c.op, "value": json_value(c.value), "text": c.text_zh}
            for c in service.criteria
        ]


async def test_accounts_are_found_by_their_holder_only(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    bearer = await token(http, mocks)
    status, body = await get(http, f"{mocks.url}{API}/accounts?holderIdCard={HEAD.id_number}", bearer)
    assert status == 200
    expected = list(WORLD.accounts_of(HEAD.household_id))
    assert expected and all(a.holder == HEAD.id_number for a in expected)
    assert body["items"] == [
        {
            "accountNo": a.account_no,
            "utility": a.utility.upper(),
            "householdId": a.household_id,
            "address": a.address,
        }
        for a in expected
    ]
    for someone in (SPOUSE.id_number, unknown_id()):  # not the holder / nobody: no accounts, no error
        status, body = await get(http, f"{mocks.url}{API}/accounts?holderIdCard={someone}", bearer)
        assert status == 200 and body == {"items": []}


@pytest.mark.parametrize(
    "query", ["", "holderIdCard=", "holderIdCard=123", "holderIdCard=31011519000101999X"]
)
async def test_bad_or_missing_holder_is_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, query: str
) -> None:
    status, body = await get(http, f"{mocks.url}{API}/accounts?{query}", await token(http, mocks))
    assert status == 400 and body["error"] == "invalid_request"


async def test_bill_pages_walk_every_bill_once(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    account = WORLD.accounts_of(HEAD.household_id)[0]
    seen: list[dict[str, Any]] = []
    query = "limit=5"
    for _ in range(10):
        status, body = await get(
            http, f"{mocks.url}{API}/accounts/{account.account_no}/bills?{query}", bearer
        )
        assert status == 200 and set(body) == {"items", "nextCursor"} and len(body["items"]) <= 5
        seen.extend(body["items"])
        if body["nextCursor"] is None:
            break
        query = f"limit=5&cursor={body['nextCursor']}"
    bills = WORLD.bills_of(account.account_no)
    assert [b["billId"] for b in seen] == [b.id for b in bills]
    for item, bill in zip(seen, bills, strict=True):
        assert item["amountFen"] == bill.amount_fen and isinstance(item["amountFen"], int)
        assert item["utility"] == bill.utility.upper() and item["period"] == bill.period
        assert date.fromisoformat(item["dueDate"]) == bill.due_date
        assert item["paid"] is bill.paid
        assert (None if item["paidAt"] is None else datetime.fromisoformat(item["paidAt"])) == bill.paid_at


async def test_default_page_is_the_whole_year(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    account = WORLD.accounts_of(HEAD.household_id)[0]
    url = f"{mocks.url}{API}/accounts/{account.account_no}/bills"
    status, body = await get(http, url, await token(http, mocks))
    assert status == 200 and len(body["items"]) == 12 and body["nextCursor"] is None


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("limit=0", "invalid_request"),
        ("limit=13", "invalid_request"),
        ("limit=x", "invalid_request"),
        ("cursor=garbage", "bad_cursor"),
        ("cursor=MTI.0000000000000000", "bad_cursor"),
    ],
)
async def test_bad_bill_paging_is_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, query: str, error: str
) -> None:
    account = WORLD.accounts_of(HEAD.household_id)[0]
    url = f"{mocks.url}{API}/accounts/{account.account_no}/bills?{query}"
    status, body = await get(http, url, await token(http, mocks))
    assert status == 400 and body["error"] == error


async def test_unknown_account_is_404(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{mocks.url}{API}/accounts/SH0000000000/bills", await token(http, mocks))
    assert status == 404 and body == {"error": "account_not_found"}


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
    async with http.post(f"{mocks.url}/utilities/oauth/token", data=form) as response:
        assert response.status == 401 and await response.json() == {"error": "invalid_client"}


async def test_token_by_basic_auth_and_bad_grant(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    url = f"{mocks.url}/utilities/oauth/token"
    basic = {"Authorization": aiohttp.encode_basic_auth("onestop", "gy-secret")}
    async with http.post(url, data={"grant_type": "client_credentials"}, headers=basic) as response:
        assert response.status == 200 and (await response.json())["token_type"] == "Bearer"
    async with http.post(url, data={**FORM, "grant_type": "password"}) as response:
        assert response.status == 400 and (await response.json())["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("bearer", [None, "", "not-a-token"])
async def test_every_api_route_needs_a_token(
    mocks: RunningMocks, http: aiohttp.ClientSession, bearer: str | None
) -> None:
    headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    account = WORLD.accounts_of(HEAD.household_id)[0].account_no
    for path in ("services", f"accounts?holderIdCard={HEAD.id_number}", f"accounts/{account}/bills"):
        async with http.get(f"{mocks.url}{API}/{path}", headers=headers) as response:
            assert response.status == 401 and "Bearer" in response.headers["WWW-Authenticate"]


async def test_admin_can_expire_tokens(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    old = await token(http, mocks)
    assert (await get(http, f"{mocks.url}{API}/services", old))[0] == 200
    async with http.post(f"{mocks.url}/_admin/tokens/expire") as response:
        assert (await response.json())["expired"] >= 1
    assert (await get(http, f"{mocks.url}{API}/services", old))[0] == 401
    assert (await get(http, f"{mocks.url}{API}/services", await token(http, mocks)))[0] == 200


async def test_failure_style_is_http_500(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    async with http.put(f"{mocks.url}/_admin/faults/utilities", json={"error_rate": 1}) as response:
        assert response.status == 200
    status, body = await get(http, f"{mocks.url}{API}/services", bearer)
    assert status == 500 and body["error"] == "server_error"


async def test_malformed_body_is_not_json(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bearer = await token(http, mocks)
    async with http.put(f"{mocks.url}/_admin/faults/utilities", json={"malformed": True}) as response:
        assert response.status == 200
    async with http.get(f"{mocks.url}{API}/services", headers=bearer) as response:
        assert response.status == 200 and response.content_type == "application/json"
        with pytest.raises(ValueError):  # cut mid-document, maybe mid-character
            json.loads(await response.read())


async def test_openapi_describes_the_routes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, spec = await get(http, f"{mocks.url}/utilities/openapi.json", {})
    assert status == 200 and spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": "/utilities"}]
    assert set(spec["paths"]) == {
        "/oauth/token",
        "/api/services",
        "/api/accounts",
        "/api/accounts/{accountNo}/bills",
        "/api/bills/{billId}/payments",
    }
    flow = spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/utilities/oauth/token"
    schemas = spec["components"]["schemas"]
    assert set(schemas["Service"]["properties"]) == SERVICE_FIELDS
    account = WORLD.accounts_of(HEAD.household_id)[0].account_no
    _, body = await get(http, f"{mocks.url}{API}/accounts/{account}/bills?limit=1", await token(http, mocks))
    assert set(schemas["Bill"]["properties"]) == set(body["items"][0])
    limit = next(
        p
        for p in spec["paths"]["/api/accounts/{accountNo}/bills"]["get"]["parameters"]
        if p["name"] == "limit"
    )
    assert limit["schema"]["maximum"] == 12


async def test_a_payment_is_recorded_once_and_the_bill_reads_paid(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    auth = await token(http, mocks)
    unpaid = next(b for b in WORLD.bills if not b.paid)
    url = f"{mocks.url}{API}/bills/{unpaid.id}/payments"
    report = {
        "channelTxnNo": "4200000001",
        "amountFen": unpaid.amount_fen,
        "paidAt": "2026-11-26T10:00:00+08:00",
    }
    async with http.post(url, json=report | {"amountFen": unpaid.amount_fen + 1}, headers=auth) as response:
        assert response.status == 409 and (await response.json())["error"] == "amount_mismatch"
    async with http.post(url, json=report, headers=auth) as response:
        first = await response.json()
        assert response.status == 200 and first["bill"]["paid"] is True and first["receiptNo"]
    async with http.post(url, json=report, headers=auth) as response:  # told again: the same receipt
        assert response.status == 200 and (await response.json())["receiptNo"] == first["receiptNo"]
    async with http.post(url, json=report | {"channelTxnNo": "4200000002"}, headers=auth) as response:
        assert response.status == 409 and (await response.json())["error"] == "bill_already_paid"
    async with http.post(url, json={"channelTxnNo": "x"}, headers=auth) as response:
        assert response.status == 400
    async with http.post(f"{mocks.url}{API}/bills/NOPE-1/payments", json=report, headers=auth) as response:
        assert response.status == 404
    async with http.post(url, json=report) as response:
        assert response.status == 401
    listed = f"{mocks.url}{API}/accounts/{unpaid.account_no}/bills"
    async with http.get(listed, headers=auth) as response:
        items = (await response.json())["items"]
    assert next(b for b in items if b["billId"] == unpaid.id)["paid"] is True
