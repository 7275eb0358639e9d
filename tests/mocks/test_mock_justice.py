"""justice: bare camelCase JSON, keyset cursors, no auth, epoch seconds, Spring error objects."""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import DEFAULT_SEED, build_world
from tests.conftest import Admin

WORLD = build_world(DEFAULT_SEED)
SERVICES = "/justice/open/v1/services"


async def get(http: aiohttp.ClientSession, mocks: RunningMocks, params: dict[str, str]) -> tuple[int, Any]:
    async with http.get(f"{mocks.url}{SERVICES}", params=params) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_cursor_walk_returns_every_item_once(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    items: list[dict[str, Any]] = []
    params = {"size": "1"}
    pages = 0
    while pages < 100:
        status, body = await get(http, mocks, params)
        assert status == 200 and set(body) == {"data", "paging"}
        items.extend(body["data"])
        pages += 1
        if body["paging"]["next"] is None:
            break
        params = {"size": "1", "cursor": body["paging"]["next"]}
    services = WORLD.services_of("justice")
    assert [i["code"] for i in items] == [s.code for s in services] and pages == len(services) >= 3


async def test_items_in_camel_case_with_epoch_seconds(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, mocks, {})
    assert status == 200 and body["paging"] == {"next": None}
    for item, service in zip(body["data"], WORLD.services_of("justice"), strict=True):
        assert set(item) == {
            "code",
            "title",
            "titleEn",
            "summary",
            "type",
            "channels",
            "feeFen",
            "workingDays",
            "requiredMaterials",
            "updatedAt",
            "eligibility",
        }
        assert item["title"] == service.name_zh and item["type"] == "legal"
        assert set(item["channels"]) <= {"counter", "web", "app", "wechat", "kiosk"}
        assert item["updatedAt"] == int(service.updated_at.timestamp())
        assert item["requiredMaterials"] == list(service.documents)
        assert [(c["fact"], c["op"]) for c in item["eligibility"]] == [
            (c.fact, c.op) for c in service.criteria
        ]


async def test_no_credentials_needed(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}{SERVICES}", headers={"Authorization": "Bearer nonsense"}) as response:
        assert response.status == 200


@pytest.mark.parametrize("size", ["0", "51", "ten", "-1", "2.5"])
async def test_bad_size_is_400(mocks: RunningMocks, http: aiohttp.ClientSession, size: str) -> None:
    status, body = await get(http, mocks, {"size": size})
    assert status == 400 and body["status"] == 400 and body["error"] == "Bad Request"
    assert body["path"] == SERVICES and body["message"]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", ["", "garbage!", _b64("SF-999"), _b64("SQ-001"), "中文", "%%%"])
async def test_bad_cursor_is_400(mocks: RunningMocks, http: aiohttp.ClientSession, cursor: str) -> None:
    status, body = await get(http, mocks, {"cursor": cursor})
    assert status == 400 and body["message"] == "invalid cursor"


async def test_openapi_describes_the_route(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/justice/openapi.json") as response:
        assert response.status == 200
        spec = await response.json()
    assert spec["openapi"].startswith("3.") and list(spec["paths"]) == ["/open/v1/services"]
    assert "security" not in spec and "securitySchemes" not in spec["components"]
    params = {p["name"]: p["schema"] for p in spec["paths"]["/open/v1/services"]["get"]["parameters"]}
    assert params["size"]["maximum"] == 50 and set(params) == {"cursor", "size"}


async def test_failure_is_spring_503(mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin) -> None:
    await admin.fault("justice", error_rate=1)
    status, body = await get(http, mocks, {})
    assert status == 503 and body["status"] == 503 and body["error"] == "Service Unavailable"


async def test_malformed_is_broken_json(
    mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    await admin.fault("justice", malformed=True)
    async with http.get(f"{mocks.url}{SERVICES}") as response:
        assert response.status == 200 and response.content_type == "application/json"
        body = await response.read()
    with pytest.raises(ValueError):
        json.loads(body)
