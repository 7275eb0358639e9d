"""/_admin/cases/{department}/{ref}/status moves a case; the department lists it moved, and a registered
webhook is called, signed with the department's secret (checked here from the contract, not the mocks'
own helper)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from defusedxml.ElementTree import fromstring

from mocks.server import RunningMocks
from mocks.world import build_world
from tests.mocks.support import signed

WORLD = build_world()
HOUSING = next(c for c in WORLD.cases_of("housing") if c.status.value == "IN_REVIEW")
INSURANCE = next(c for c in WORLD.cases_of("medical-insurance") if c.status.value == "SUBMITTED")
CASES = "/housing/xml/cases"


async def housing_case(http: aiohttp.ClientSession, mocks: RunningMocks) -> Any:
    params = {"idNumber": HOUSING.resident}
    headers = signed("GET", CASES, params, secret=b"zj-hmac-secret")
    async with http.get(f"{mocks.url}{CASES}", params=params, headers=headers) as response:
        assert response.status == 200
        root = fromstring(await response.read())
    return next(c for c in root.findall("case") if c.get("ref") == HOUSING.ref)


async def admin_post(http: aiohttp.ClientSession, url: str, body: Any) -> tuple[int, Any]:
    async with http.post(url, data=json.dumps(body).encode()) as response:
        return response.status, await response.json()


def status_url(mocks: RunningMocks, department: str, ref: str) -> str:
    return f"{mocks.url}/_admin/cases/{department}/{ref}/status"


async def test_a_changed_housing_case_is_listed_with_its_new_status_until_reset(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    before = await housing_case(http, mocks)
    assert before.findtext("status") == "审核中"
    status, answer = await admin_post(
        http, status_url(mocks, "housing", HOUSING.ref), {"status": "NEEDS_INFO"}
    )
    assert status == 200
    assert answer["department_status"] == "待补正" and answer["webhook"] is None
    after = await housing_case(http, mocks)
    assert after.findtext("status") == "待补正"
    assert after.findtext("updated") == answer["updated_at"] > before.findtext("updated")
    events = after.findall("history/event")
    assert len(events) == len(before.findall("history/event")) + 1
    assert events[-1].get("status") == "待补正" and events[-1].get("at") == answer["updated_at"]
    # two changes within one second still follow each other in time
    _, again = await admin_post(http, status_url(mocks, "housing", HOUSING.ref), {"status": "IN_REVIEW"})
    assert again["updated_at"] > answer["updated_at"]
    async with http.post(f"{mocks.url}/_admin/reset") as response:
        assert response.status == 200
    assert (await housing_case(http, mocks)).findtext("status") == "审核中"


async def test_medical_insurance_cases_move_too(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, answer = await admin_post(
        http, status_url(mocks, "medical-insurance", INSURANCE.ref), {"status": "ACCEPTED"}
    )
    assert (status, answer["department_status"]) == (200, "02")
    params = {"appkey": "yb-dev-key", "id_number": INSURANCE.resident}
    async with http.get(f"{mocks.url}/medical-insurance/api/cases", params=params) as response:
        items = (await response.json())["items"]
    item = next(i for i in items if i["case_no"] == INSURANCE.ref)
    assert (item["status"], item["status_text"], item["updated_at"]) == ("02", "已受理", answer["updated_at"])
    assert item["history"][-1]["status"] == "02"


@pytest.mark.parametrize(
    ("department", "ref", "body", "expected"),
    [
        pytest.param("tax", "X", {"status": "APPROVED"}, 404, id="department-without-live-cases"),
        pytest.param("housing", "ZJ2099-99999", {"status": "APPROVED"}, 404, id="unknown-ref"),
        pytest.param("housing", INSURANCE.ref, {"status": "APPROVED"}, 404, id="another-departments-case"),
        pytest.param("housing", HOUSING.ref, {"status": "DONE"}, 400, id="unknown-status"),
        pytest.param("housing", HOUSING.ref, ["APPROVED"], 400, id="not-an-object"),
    ],
)
async def test_mistakes_are_refused(
    mocks: RunningMocks, http: aiohttp.ClientSession, department: str, ref: str, body: Any, expected: int
) -> None:
    status, answer = await admin_post(http, status_url(mocks, department, ref), body)
    assert status == expected and "error" in answer


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    """A tiny webhook receiver on a free port, recording (path, headers, body) and answering 202."""
    calls: list[tuple[str, dict[str, str], bytes]] = []

    async def record(request: web.Request) -> web.Response:
        calls.append((request.path, dict(request.headers), await request.read()))
        return web.json_response({"accepted": True}, status=202)

    app = web.Application()
    app.router.add_post("/hooks/{department}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hooks", calls
    finally:
        await runner.cleanup()


async def test_a_registered_webhook_is_called_signed_over_timestamp_and_body(
    mocks: RunningMocks,
    http: aiohttp.ClientSession,
    receiver: tuple[str, list[tuple[str, dict[str, str], bytes]]],
) -> None:
    url, calls = receiver
    async with http.put(f"{mocks.url}/_admin/webhooks", json={"url": url}) as response:
        assert response.status == 200
    _, answer = await admin_post(http, status_url(mocks, "housing", HOUSING.ref), {"status": "APPROVED"})
    assert answer["webhook"] == {"status": 202}
    [(path, headers, body)] = calls
    assert path == "/hooks/housing"
    timestamp = headers["X-Onestop-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(b"zj-webhook-secret-dev", timestamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Onestop-Signature"] == "sha256=" + expected.hexdigest()
    assert json.loads(body) == {
        "event": "case.status_changed",
        "ref": HOUSING.ref,
        "resident_id": HOUSING.resident,
        "status": "已批准",
        "updated_at": answer["updated_at"],
    }
    async with http.post(f"{mocks.url}/_admin/reset") as response:  # forgets the webhook too
        assert response.status == 200
    _, answer = await admin_post(http, status_url(mocks, "housing", HOUSING.ref), {"status": "COMPLETED"})
    assert answer["webhook"] is None and len(calls) == 1


async def test_a_webhook_that_cannot_be_reached_is_reported_not_fatal(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with http.put(f"{mocks.url}/_admin/webhooks", json={"url": "http://127.0.0.1:9/hooks"}) as response:
        assert response.status == 200
    status, answer = await admin_post(http, status_url(mocks, "housing", HOUSING.ref), {"status": "APPROVED"})
    assert status == 200 and "error" in answer["webhook"]
    async with http.put(f"{mocks.url}/_admin/webhooks", json={"url": "ftp://x"}) as response:
        assert response.status == 400
