"""The /_admin API: department list, fault validation, stats, reset, --only."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from mocks.departments import MODULES, all_departments
from mocks.server import RunningMocks, create_app, start

HEALTHY = {"latency_ms": 0, "error_rate": 0.0, "hang": False, "malformed": False, "down": False, "drip_ms": 0}
IDS = [d.id for d in all_departments()]


async def admin(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_departments(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, departments = await admin(http, "GET", f"{mocks.url}/_admin/departments")
    assert status == 200
    assert [d["id"] for d in departments] == IDS
    by_id = {d["id"]: d for d in departments}
    assert by_id["community"]["capabilities"] == ["stations", "catalog"]
    assert by_id["civil-affairs"]["prefix"] == "/civil-affairs"
    assert by_id["hrss"]["name_zh"] == "人力资源和社会保障局"
    for department in departments:
        assert set(department) == {"id", "name_zh", "name_en", "prefix", "capabilities", "description_url"}
        assert department["description_url"].startswith(mocks.url + department["prefix"] + "/")
        async with http.get(department["description_url"]) as response:
            assert response.status == 200, department["id"]


async def test_fault_updates_merge_and_clear(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, faults = await admin(http, "GET", f"{mocks.url}/_admin/faults")
    assert status == 200 and faults == dict.fromkeys(IDS, HEALTHY)
    status, state = await admin(http, "PUT", f"{mocks.url}/_admin/faults/hrss", json={"latency_ms": 5})
    assert status == 200 and state == {**HEALTHY, "latency_ms": 5}
    status, state = await admin(http, "PUT", f"{mocks.url}/_admin/faults/hrss", json={"error_rate": 0.25})
    assert state == {**HEALTHY, "latency_ms": 5, "error_rate": 0.25}
    await admin(http, "PUT", f"{mocks.url}/_admin/faults/health", json={"down": True, "drip_ms": 1})
    _, faults = await admin(http, "GET", f"{mocks.url}/_admin/faults")
    assert faults["health"] == {**HEALTHY, "down": True, "drip_ms": 1}
    status, state = await admin(http, "DELETE", f"{mocks.url}/_admin/faults/hrss")
    assert status == 200 and state == HEALTHY
    _, faults = await admin(http, "GET", f"{mocks.url}/_admin/faults")
    assert faults["hrss"] == HEALTHY and faults["health"]["down"] is True
    status, faults = await admin(http, "DELETE", f"{mocks.url}/_admin/faults")
    assert status == 200 and faults == dict.fromkeys(IDS, HEALTHY)


@pytest.mark.parametrize(
    "body",
    [
        {"latency": 5},
        {"latency_ms": -1},
        {"latency_ms": "5"},
        {"latency_ms": 1.5},
        {"latency_ms": True},
        {"latency_ms": 10**12},
        {"drip_ms": -3},
        {"error_rate": 1.5},
        {"error_rate": -0.1},
        {"error_rate": "x"},
        {"error_rate": True},
        {"hang": "yes"},
        {"down": 1},
        {"malformed": None},
        [],
        "down",
        5,
    ],
)
async def test_bad_fault_bodies_are_400(mocks: RunningMocks, http: aiohttp.ClientSession, body: Any) -> None:
    status, error = await admin(http, "PUT", f"{mocks.url}/_admin/faults/community", json=body)
    assert status == 400 and error["error"]
    _, faults = await admin(http, "GET", f"{mocks.url}/_admin/faults")
    assert faults["community"] == HEALTHY


async def test_non_json_body_is_400(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    for raw in (b"{not json", b"", b"\xff\xfe"):
        status, _ = await admin(http, "PUT", f"{mocks.url}/_admin/faults/community", data=raw)
        assert status == 400


async def test_unknown_department_is_404(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, error = await admin(http, "PUT", f"{mocks.url}/_admin/faults/police", json={"down": True})
    assert status == 404 and "police" in error["error"]
    status, _ = await admin(http, "DELETE", f"{mocks.url}/_admin/faults/police")
    assert status == 404


async def test_stats_count_department_requests_per_path(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    key = {"X-Api-Key": "community-dev-key"}
    for _ in range(3):
        async with http.get(f"{mocks.url}/community/api/zhandian/list?pageSize=1", headers=key):
            pass
    async with http.get(f"{mocks.url}/community/api/fuwu/list", headers={}):
        pass  # a 401 is still an upstream call
    async with http.get(f"{mocks.url}/commerce/services.xml"):
        pass
    async with http.get(f"{mocks.url}/_admin/faults"):
        pass
    status, stats = await admin(http, "GET", f"{mocks.url}/_admin/stats")
    assert status == 200
    assert stats["community"] == {
        "requests": 4,
        "paths": {"/community/api/fuwu/list": 1, "/community/api/zhandian/list": 3},
    }
    assert stats["commerce"] == {"requests": 1, "paths": {"/commerce/services.xml": 1}}
    assert stats["hrss"] == {"requests": 0, "paths": {}}
    assert set(stats) == set(IDS)
    status, stats = await admin(http, "DELETE", f"{mocks.url}/_admin/stats")
    assert status == 200 and all(s == {"requests": 0, "paths": {}} for s in stats.values())


async def test_reset_restores_everything(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    form = {"grant_type": "client_credentials", "client_id": "onestop", "client_secret": "hrss-secret"}
    async with http.post(f"{mocks.url}/hrss/oauth/token", data=form) as response:
        bearer = (await response.json())["access_token"]
    await admin(http, "PUT", f"{mocks.url}/_admin/faults/commerce", json={"latency_ms": 1})
    status, body = await admin(http, "POST", f"{mocks.url}/_admin/reset")
    assert status == 200 and body == {"reset": True}
    _, faults = await admin(http, "GET", f"{mocks.url}/_admin/faults")
    _, stats = await admin(http, "GET", f"{mocks.url}/_admin/stats")
    assert faults == dict.fromkeys(IDS, HEALTHY)
    assert all(s["requests"] == 0 for s in stats.values())
    async with http.get(
        f"{mocks.url}/hrss/export/services.csv", headers={"Authorization": f"Bearer {bearer}"}
    ) as response:
        assert response.status == 401


async def test_expire_without_tokens_reports_zero(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await admin(http, "POST", f"{mocks.url}/_admin/tokens/expire")
    assert status == 200 and body == {"expired": 0}


async def test_only_serves_the_named_departments(http: aiohttp.ClientSession) -> None:
    running = await start(port=0, only=["commerce", "health"])
    try:
        _, departments = await admin(http, "GET", f"{running.url}/_admin/departments")
        assert [d["id"] for d in departments] == ["health", "commerce"]
        async with http.get(f"{running.url}/community/api/fuwu/list") as response:
            assert response.status == 404
        status, _ = await admin(http, "PUT", f"{running.url}/_admin/faults/community", json={"down": True})
        assert status == 404
        _, stats = await admin(http, "GET", f"{running.url}/_admin/stats")
        assert set(stats) == {"health", "commerce"}
    finally:
        await running.stop()


def test_unknown_department_in_only_is_rejected() -> None:
    with pytest.raises(ValueError, match="police"):
        create_app(only=["police"])


def test_all_nineteen_departments_are_served() -> None:
    assert len(IDS) == len(MODULES) == 19 == len(set(IDS))
