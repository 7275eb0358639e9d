"""veterans: bare snake_case JSON, API key header, no paging, yyyyMMdd, one resident per call."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import FIXTURE_RESIDENTS, build_world
from tests.mocks.support import json_value, unknown_id

WORLD = build_world()
KEY = {"X-Api-Key": "ty-dev-key"}
SERVICE_FIELDS = {
    "code",
    "name_cn",
    "name_en",
    "intro",
    "category",
    "channels",
    "fee_fen",
    "days",
    "docs",
    "updated",
    "criteria",
}
VETERAN = WORLD.residents[FIXTURE_RESIDENTS["veteran"]]
CIVILIAN = WORLD.residents[FIXTURE_RESIDENTS["senior_pudong"]]


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(url, headers=KEY if headers is None else headers) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def test_services_are_the_worlds_in_snake_case(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, f"{mocks.url}/veterans/api/services")
    assert status == 200 and set(body) == {"services"}
    items = body["services"]
    seeded = WORLD.services_of("veterans")
    assert [i["code"] for i in items] == [s.code for s in seeded]  # all of them, once, no paging
    for item, service in zip(items, seeded, strict=True):
        assert set(item) == SERVICE_FIELDS
        assert (item["name_cn"], item["name_en"], item["intro"]) == (
            service.name_zh,
            service.name_en,
            service.description,
        )
        assert item["category"] == "veterans"
        assert item["channels"] and set(item["channels"]) <= {
            "counter",
            "web",
            "app",
            "wechat",
            "self_service",
        }
        assert (item["fee_fen"], item["days"], item["docs"]) == (
            service.fee_fen,
            service.processing_days,
            list(service.documents),
        )
        assert item["updated"] == service.updated_at.strftime("%Y%m%d")
        assert item["criteria"] == [
            {"fact": c.fact, "op": c.op, "value": json_value(c.value), "text": c.text_zh}
            for c in service.criteria
        ]


async def test_a_veteran_and_a_civilian(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{mocks.url}/veterans/api/veterans/{VETERAN.id_number}")
    assert status == 200
    assert body["id_number"] == VETERAN.id_number and body["is_veteran"] is True
    assert body["service_branch"] == VETERAN.veteran_branch
    assert VETERAN.discharge_date is not None
    assert body["discharge_date"] == VETERAN.discharge_date.strftime("%Y%m%d")
    status, body = await get(http, f"{mocks.url}/veterans/api/veterans/{CIVILIAN.id_number}")
    assert status == 200
    assert body == {
        "id_number": CIVILIAN.id_number,
        "is_veteran": False,
        "service_branch": None,
        "discharge_date": None,
    }


async def test_every_sampled_resident_matches_the_world(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    for resident in WORLD.residents[::150]:
        status, body = await get(http, f"{mocks.url}/veterans/api/veterans/{resident.id_number}")
        assert status == 200 and body["is_veteran"] is resident.veteran
        assert (body["discharge_date"] is None) == (not resident.veteran)
        if body["discharge_date"] is not None:
            assert re.fullmatch(r"\d{8}", body["discharge_date"])


async def test_unknown_resident_is_404(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{mocks.url}/veterans/api/veterans/{unknown_id()}")
    assert status == 404 and body == {"error": "not_found"}


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("veterans/12345", "bad_id_number"),
        ("veterans/31011519000101999X", "bad_id_number"),  # wrong check character
        ("veterans/310115abcdefghijkl", "bad_id_number"),
        ("veterans/", "id_number_required"),
        ("veterans", "id_number_required"),
    ],
)
async def test_bad_or_missing_id_is_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, path: str, error: str
) -> None:
    status, body = await get(http, f"{mocks.url}/veterans/api/{path}")
    assert status == 400 and body == {"error": error}


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"X-Api-Key": ""}])
async def test_api_key_required(
    mocks: RunningMocks, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for path in ("services", f"veterans/{VETERAN.id_number}", "veterans/"):
        status, body = await get(http, f"{mocks.url}/veterans/api/{path}", headers=headers)
        assert status == 401 and body == {"error": "unauthorized"}


async def test_failure_style_is_http_500(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/veterans", json={"error_rate": 1}) as response:
        assert response.status == 200
    for path in ("services", f"veterans/{VETERAN.id_number}"):
        status, body = await get(http, f"{mocks.url}/veterans/api/{path}")
        assert status == 500 and body == {"error": "internal_error"}


async def test_malformed_body_is_not_json(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/veterans", json={"malformed": True}) as response:
        assert response.status == 200
    for path in ("services", f"veterans/{VETERAN.id_number}"):
        async with http.get(f"{mocks.url}/veterans/api/{path}", headers=KEY) as response:
            assert response.status == 200 and response.content_type == "application/json"
            with pytest.raises(ValueError):  # cut mid-document, maybe mid-character
                json.loads(await response.read())


async def test_openapi_describes_the_routes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, spec = await get(http, f"{mocks.url}/veterans/openapi.json", headers={})
    assert status == 200 and spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": "/veterans"}]
    assert set(spec["paths"]) == {"/api/services", "/api/veterans/{id_number}"}
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "X-Api-Key"
    schemas = spec["components"]["schemas"]
    assert set(schemas["Service"]["properties"]) == SERVICE_FIELDS
    _, body = await get(http, f"{mocks.url}/veterans/api/veterans/{VETERAN.id_number}")
    assert set(schemas["Veteran"]["properties"]) == set(body)
    responses = spec["paths"]["/api/veterans/{id_number}"]["get"]["responses"]
    assert {"200", "400", "401", "404"} <= set(responses)
