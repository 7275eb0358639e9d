"""Every fault mode, observed from a real HTTP client."""

from __future__ import annotations

import asyncio
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from defusedxml.ElementTree import fromstring

from mocks.server import RunningMocks, start
from tests.conftest import Admin
from tests.mocks.support import signed
from tests.waiting import until

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_BODY = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    '<mz:ListServices xmlns:mz="urn:pudong:minzheng"/></soap:Body></soap:Envelope>'
)
HRSS_FORM = {"grant_type": "client_credentials", "client_id": "onestop", "client_secret": "hrss-secret"}


def health_headers(params: dict[str, str]) -> dict[str, str]:
    return signed("GET", "/health/v2/services", params, secret=b"health-hmac-secret")


async def hrss_token(http: aiohttp.ClientSession, url: str) -> str:
    async with http.post(f"{url}/hrss/oauth/token", data=HRSS_FORM) as response:
        return str((await response.json())["access_token"])


Request = Callable[[aiohttp.ClientSession, str], Awaitable[aiohttp.ClientResponse]]


async def request_for(department: str, http: aiohttp.ClientSession, url: str) -> Request:
    """A function issuing one well-formed catalogue request to `department` (auth obtained up front)."""
    if department == "community":
        return lambda s, u: s.get(f"{u}/community/api/fuwu/list", headers={"X-Api-Key": "community-dev-key"})
    if department == "civil-affairs":
        soap_headers = {
            "Authorization": aiohttp.encode_basic_auth("onestop", "mz-secret"),
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"urn:pudong:minzheng#ListServices"',
        }
        return lambda s, u: s.post(f"{u}/civil-affairs/soap", data=SOAP_BODY.encode(), headers=soap_headers)
    if department == "hrss":
        bearer = await hrss_token(http, url)
        return lambda s, u: s.get(
            f"{u}/hrss/export/services.csv?offset=0&limit=100", headers={"Authorization": f"Bearer {bearer}"}
        )
    if department == "health":
        return lambda s, u: s.get(
            f"{u}/health/v2/services", params={"limit": "100"}, headers=health_headers({"limit": "100"})
        )
    assert department == "commerce"
    return lambda s, u: s.get(f"{u}/commerce/services.xml")


DEPARTMENTS = ["community", "civil-affairs", "hrss", "health", "commerce"]


async def set_faults(http: aiohttp.ClientSession, url: str, department: str, **faults: Any) -> None:
    async with http.put(f"{url}/_admin/faults/{department}", json=faults) as response:
        assert response.status == 200, await response.text()


async def fetch(send: Request, http: aiohttp.ClientSession, url: str) -> tuple[int, str, bytes]:
    async with await send(http, url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


def is_success(department: str, status: int, body: bytes) -> bool:
    if department == "community":
        return status == 200 and json.loads(body)["code"] == 0
    return status == 200


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_healthy_baseline(mocks: RunningMocks, http: aiohttp.ClientSession, department: str) -> None:
    status, _, body = await fetch(await request_for(department, http, mocks.url), http, mocks.url)
    assert is_success(department, status, body)


async def test_latency(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    send = await request_for("commerce", http, mocks.url)
    await set_faults(http, mocks.url, "commerce", latency_ms=250)
    started = time.monotonic()
    status, _, _ = await fetch(send, http, mocks.url)
    assert status == 200 and time.monotonic() - started >= 0.25


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_error_rate_one_fails_the_department_way(
    mocks: RunningMocks, http: aiohttp.ClientSession, department: str
) -> None:
    send = await request_for(department, http, mocks.url)
    await set_faults(http, mocks.url, department, error_rate=1)
    status, content_type, body = await fetch(send, http, mocks.url)
    if department == "community":
        assert status == 200 and content_type.startswith("application/json")
        assert json.loads(body) == {"code": 5001, "msg": "系统繁忙", "data": None}
    elif department == "civil-affairs":
        assert status == 500 and content_type.startswith("text/xml")
        fault = fromstring(body).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
        assert fault is not None and fault.findtext("faultcode") == "soap:Server"
        assert fault.findtext("faultstring")
    elif department == "hrss":
        assert status == 500 and content_type.startswith("text/html")
    elif department == "health":
        assert status == 500 and json.loads(body) == {"error": "internal_error"}
    else:
        assert status == 500 and fromstring(body).tag == "error"


async def test_partial_error_rate_is_reproducible(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    send = await request_for("health", http, mocks.url)

    async def outcomes() -> list[bool]:
        await set_faults(http, mocks.url, "health", error_rate=0.5)
        results = []
        for _ in range(40):
            status, _, body = await fetch(send, http, mocks.url)
            results.append(is_success("health", status, body))
        return results

    first = await outcomes()
    assert 5 < sum(first) < 35
    assert await outcomes() == first  # setting faults restarts the dice


async def test_hang_gives_up_with_504(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    send = await request_for("community", http, mocks.url)
    await set_faults(http, mocks.url, "community", hang=True)
    started = time.monotonic()
    status, _, _ = await fetch(send, http, mocks.url)
    assert status == 504 and time.monotonic() - started >= 0.3


async def test_hang_trips_a_client_timeout(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    await set_faults(http, mocks.url, "commerce", hang=True)
    with pytest.raises(asyncio.TimeoutError):
        async with http.get(
            f"{mocks.url}/commerce/services.xml", timeout=aiohttp.ClientTimeout(total=0.1)
        ) as response:
            await response.read()


async def test_stop_releases_hanging_requests_fast(http: aiohttp.ClientSession) -> None:
    running = await start(port=0, only=["commerce"])  # the contract's 30 s hang limit
    await set_faults(http, running.url, "commerce", hang=True)
    admin, request = Admin(running.url, http), await request_for("commerce", http, running.url)
    before = await admin.requests("commerce")
    pending = asyncio.create_task(fetch(request, http, running.url))

    async def hanging() -> bool:  # the request has reached commerce (and its hang)
        return await admin.requests("commerce") > before

    await until(hanging)
    started = time.monotonic()
    await running.stop()
    assert time.monotonic() - started < 3
    try:
        status, _, _ = await asyncio.wait_for(pending, 3)
        assert status == 504
    except aiohttp.ClientConnectionError:
        pass  # also fine: the server went away


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_malformed_is_200_garbage_of_the_right_type(
    mocks: RunningMocks, http: aiohttp.ClientSession, department: str
) -> None:
    send = await request_for(department, http, mocks.url)
    _, good_type, good = await fetch(send, http, mocks.url)
    await set_faults(http, mocks.url, department, malformed=True)
    status, content_type, body = await fetch(send, http, mocks.url)
    assert status == 200 and content_type == good_type and body != good
    if department in ("community", "health"):
        with pytest.raises(ValueError):
            json.loads(body)
    elif department in ("civil-affairs", "commerce"):
        with pytest.raises(ET.ParseError):
            fromstring(body)
    else:
        with pytest.raises(UnicodeDecodeError):
            body.decode("gb18030")


@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_down_closes_the_connection(
    mocks: RunningMocks, http: aiohttp.ClientSession, department: str
) -> None:
    send = await request_for(department, http, mocks.url)
    await set_faults(http, mocks.url, department, down=True)
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await fetch(send, http, mocks.url)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as fresh:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await fetch(send, fresh, mocks.url)


async def test_drip_sends_the_body_slowly_in_chunks(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    send = await request_for("community", http, mocks.url)
    _, _, good = await fetch(send, http, mocks.url)
    await set_faults(http, mocks.url, "community", drip_ms=40)
    started = time.monotonic()
    chunks: list[bytes] = []
    async with await send(http, mocks.url) as response:
        assert response.status == 200
        first_byte = time.monotonic() - started
        async for chunk in response.content.iter_any():
            chunks.append(chunk)
    elapsed = time.monotonic() - started
    expected_pauses = (len(good) - 1) // 512
    assert expected_pauses >= 2
    assert b"".join(chunks) == good
    assert len(chunks) >= 2
    assert first_byte < 0.2 and elapsed >= expected_pauses * 0.04


async def test_faults_are_per_department_and_spare_admin(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    send = await request_for("commerce", http, mocks.url)
    for department in ("community", "civil-affairs", "hrss", "health"):
        await set_faults(http, mocks.url, department, down=True, hang=True, error_rate=1)
    status, _, _ = await fetch(send, http, mocks.url)
    assert status == 200
    async with http.get(f"{mocks.url}/_admin/stats") as response:
        assert response.status == 200
    async with http.delete(f"{mocks.url}/_admin/faults") as response:
        assert response.status == 200
        assert all(not f["down"] for f in (await response.json()).values())
