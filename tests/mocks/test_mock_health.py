"""health: HMAC-SHA256 signed requests, camelCase JSON, opaque cursors.

Signatures are computed here straight from the contract, not with the mock's own helper, so the test
checks the wire format the gateway will implement.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import build_world
from tests.mocks.support import signed

WORLD = build_world()
SECRET = b"health-hmac-secret"
PATH = "/health/v2/services"


def signed_headers(
    params: dict[str, str],
    *,
    timestamp: int | None = None,
    app_id: str = "onestop",
    secret: bytes = SECRET,
    path: str = PATH,
    method: str = "GET",
) -> dict[str, str]:
    return signed(method, path, params, secret=secret, app_id=app_id, timestamp=timestamp)


async def fetch(
    http: aiohttp.ClientSession,
    mocks: RunningMocks,
    params: dict[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    async with http.get(
        f"{mocks.url}{PATH}", params=params, headers=signed_headers(params) if headers is None else headers
    ) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_cursor_walk_returns_every_item_once(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    items: list[dict[str, Any]] = []
    params = {"limit": "2"}
    pages = 0
    while True:
        status, body = await fetch(http, mocks, params)
        assert status == 200
        assert set(body) == {"items", "nextCursor"}
        items.extend(body["items"])
        pages += 1
        if body["nextCursor"] is None:
            break
        params = {"limit": "2", "cursor": body["nextCursor"]}
    codes = [i["serviceCode"] for i in items]
    assert len(codes) == len(set(codes)) >= 5
    assert pages == (len(codes) + 1) // 2
    for item in items:
        assert set(item) == {
            "serviceCode",
            "nameZh",
            "nameEn",
            "description",
            "category",
            "channels",
            "feeFen",
            "processingDays",
            "requiredDocuments",
            "lastModified",
            "eligibility",
        }
        assert item["serviceCode"].startswith("WJ-")
        assert item["category"] in {"MEDICAL", "PUBLIC_HEALTH", "FAMILY"}
        assert item["channels"] and set(item["channels"]) <= {"ONSITE", "APP", "WECHAT", "KIOSK", "ONLINE"}
        assert isinstance(item["feeFen"], int) and isinstance(item["processingDays"], int)
        assert 1 <= len(item["requiredDocuments"]) <= 4
        assert isinstance(item["lastModified"], int) and item["lastModified"] > 1_500_000_000_000
        service = WORLD.service(item["serviceCode"])
        assert service is not None
        assert item["eligibility"] == [
            {
                "fact": c.fact,
                "op": c.op,
                "value": list(c.value) if isinstance(c.value, tuple) else c.value,
                "text": c.text_zh,
            }
            for c in service.criteria
        ]


async def test_default_limit_returns_everything(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await fetch(http, mocks, {})
    assert status == 200 and body["nextCursor"] is None and len(body["items"]) >= 5


@pytest.mark.parametrize("tamper", ["secret", "app_id", "stale", "future", "path", "method"])
async def test_bad_signatures_are_401(mocks: RunningMocks, http: aiohttp.ClientSession, tamper: str) -> None:
    params = {"limit": "2"}
    now = int(time.time())
    headers = {
        "secret": lambda: signed_headers(params, secret=b"guess"),
        "app_id": lambda: signed_headers(params, app_id="someone-else"),
        "stale": lambda: signed_headers(params, timestamp=now - 301),
        "future": lambda: signed_headers(params, timestamp=now + 600),
        "path": lambda: signed_headers(params, path="/health/v2/other"),
        "method": lambda: signed_headers(params, method="POST"),
    }[tamper]()
    status, body = await fetch(http, mocks, params, headers)
    assert status == 401 and body == {"error": "bad_signature"}


async def test_query_is_part_of_the_signature(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await fetch(http, mocks, {"limit": "3"}, signed_headers({"limit": "2"}))
    assert status == 401 and body == {"error": "bad_signature"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-App-Id": "onestop"}, {"X-App-Id": "onestop", "X-Timestamp": "soon", "X-Signature": "00"}],
)
async def test_missing_headers_are_401(
    mocks: RunningMocks, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    status, body = await fetch(http, mocks, {}, headers)
    assert status == 401 and body == {"error": "bad_signature"}


async def test_timestamp_within_skew_is_accepted(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    params = {"limit": "1"}
    status, _ = await fetch(http, mocks, params, signed_headers(params, timestamp=int(time.time()) - 200))
    assert status == 200


async def test_tampered_or_unknown_cursor_is_400(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    _, first = await fetch(http, mocks, {"limit": "1"})
    cursor = first["nextCursor"]
    assert isinstance(cursor, str)
    encoded, _, mac = cursor.partition(".")
    for bad in ("garbage", "", cursor + "x", "MTAw." + mac, encoded + ".0000000000000000", "%%%.abc"):
        status, body = await fetch(http, mocks, {"limit": "1", "cursor": bad})
        assert status == 400 and body == {"error": "bad_cursor"}, bad


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-5"])
async def test_bad_limit_is_400(mocks: RunningMocks, http: aiohttp.ClientSession, limit: str) -> None:
    status, body = await fetch(http, mocks, {"limit": limit})
    assert status == 400 and body == {"error": "bad_limit"}


async def test_openapi_needs_no_signature(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/health/openapi.json") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"].startswith("3.") and list(spec["paths"]) == ["/v2/services", "/v2/cases"]
    assert set(spec["components"]["securitySchemes"]) == {"appId", "timestamp", "signature"}
    service = spec["components"]["schemas"]["Service"]
    assert "eligibility" in service["required"]
    assert service["properties"]["eligibility"]["items"] == {"$ref": "#/components/schemas/Criterion"}
    assert set(spec["components"]["schemas"]["Criterion"]["properties"]) == {"fact", "op", "value", "text"}
