"""disabled-persons: {code,msg,data} envelope, camelCase, HTTP Basic, epoch millis, batch of 50."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from mocks.server import RunningMocks
from mocks.world import CST, FIXTURE_RESIDENTS, build_world
from tests.mocks.support import json_value, unknown_id

WORLD = build_world()
AUTH = {"Authorization": aiohttp.encode_basic_auth("onestop", "cl-secret")}
SERVICE_FIELDS = {
    "serviceCode",
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
LEVELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
DISABLED = WORLD.residents[FIXTURE_RESIDENTS["disabled_adult"]]
URL = "/disabled-persons/api"


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(url, headers=AUTH if headers is None else headers) as response:
        assert response.content_type == "application/json"
        return response.status, await response.json()


async def certificates(http: aiohttp.ClientSession, mocks: RunningMocks, ids: list[str]) -> tuple[int, Any]:
    return await get(http, f"{mocks.url}{URL}/certificates?idCards={','.join(ids)}")


async def test_services_in_the_envelope(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{mocks.url}{URL}/services")
    assert status == 200 and body["code"] == 0 and body["msg"]
    seeded = WORLD.services_of("disabled-persons")
    assert [i["serviceCode"] for i in body["data"]] == [s.code for s in seeded]
    for item, service in zip(body["data"], seeded, strict=True):
        assert set(item) == SERVICE_FIELDS
        assert (item["nameZh"], item["nameEn"], item["category"]) == (
            service.name_zh,
            service.name_en,
            "disability",
        )
        assert set(item["channels"]) <= {"WINDOW", "WEB", "APP", "WECHAT", "SELF_SERVICE"}
        assert (item["feeFen"], item["processingDays"]) == (service.fee_fen, service.processing_days)
        assert item["documents"] == list(service.documents)
        assert datetime.fromtimestamp(item["updatedAt"] / 1000, CST) == service.updated_at
        assert item["criteria"] == [
            {"fact": c.fact, "op": c.op, "value": json_value(c.value), "text": c.text_zh}
            for c in service.criteria
        ]


async def test_batch_answers_known_people_and_leaves_out_the_unknown(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    sample = [DISABLED, *WORLD.residents[20:3000:70]]
    ids = [r.id_number for r in sample]
    status, body = await certificates(http, mocks, [*ids[:20], unknown_id(), *ids[20:]])
    assert status == 200 and body["code"] == 0
    answered = {item["idCard"]: item for item in body["data"]}
    assert list(answered) == ids  # in the order asked, the unknown one simply absent
    for resident in sample:
        item = answered[resident.id_number]
        level = resident.disability_level
        assert item["hasCertificate"] is (level is not None)
        assert item["level"] == (None if level is None else LEVELS[level])
        assert item["certificateNo"] == resident.disability_certificate_no
        issued = resident.disability_certified_on
        if issued is None:
            assert item["issuedAt"] is None
        else:
            assert datetime.fromtimestamp(item["issuedAt"] / 1000, CST).date() == issued
    assert answered[DISABLED.id_number]["level"] == "二级"
    assert any(not i["hasCertificate"] for i in answered.values())


async def test_fifty_is_the_limit(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    ids = [r.id_number for r in WORLD.residents[:51]]
    status, body = await certificates(http, mocks, ids[:50])
    assert status == 200 and len(body["data"]) == 50
    status, body = await certificates(http, mocks, ids)
    assert status == 400 and body["code"] == 400 and body["data"] is None and "50" in body["msg"]


@pytest.mark.parametrize("query", ["", "idCards=", "idCards=,,", "idCards=123", "idCards=31011519000101999X"])
async def test_bad_or_missing_ids_are_400(
    mocks: RunningMocks, http: aiohttp.ClientSession, query: str
) -> None:
    status, body = await get(http, f"{mocks.url}{URL}/certificates?{query}")
    assert status == 400 and body["code"] == 400 and body["data"] is None and body["msg"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": aiohttp.encode_basic_auth("onestop", "wrong")},
        {"Authorization": aiohttp.encode_basic_auth("someone", "cl-secret")},
        {"Authorization": "Basic !!!"},
    ],
)
async def test_basic_auth_required(
    mocks: RunningMocks, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for path in ("services", f"certificates?idCards={DISABLED.id_number}"):
        async with http.get(f"{mocks.url}{URL}/{path}", headers=headers) as response:
            assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Basic")
            body = await response.json()
        assert body["code"] == 401 and body["data"] is None


async def test_failure_style_is_http_200_with_code_5001(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/disabled-persons", json={"error_rate": 1}) as response:
        assert response.status == 200
    for path in ("services", f"certificates?idCards={DISABLED.id_number}"):
        status, body = await get(http, f"{mocks.url}{URL}/{path}")
        assert status == 200 and body == {"code": 5001, "msg": "系统繁忙", "data": None}


async def test_malformed_body_is_not_json(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/disabled-persons", json={"malformed": True}) as response:
        assert response.status == 200
    async with http.get(f"{mocks.url}{URL}/services", headers=AUTH) as response:
        assert response.status == 200 and response.content_type == "application/json"
        with pytest.raises(ValueError):  # cut mid-document, maybe mid-character
            json.loads(await response.read())


async def test_openapi_describes_the_routes(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, spec = await get(http, f"{mocks.url}/disabled-persons/openapi.json", headers={})
    assert status == 200 and spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": "/disabled-persons"}]
    assert set(spec["paths"]) == {"/api/services", "/api/certificates"}
    assert spec["components"]["securitySchemes"]["basic"] == {"type": "http", "scheme": "basic"}
    schemas = spec["components"]["schemas"]
    assert set(schemas["Service"]["properties"]) == SERVICE_FIELDS
    _, body = await certificates(http, mocks, [DISABLED.id_number])
    assert set(schemas["Certificate"]["properties"]) == set(body["data"][0])
    (parameter,) = spec["paths"]["/api/certificates"]["get"]["parameters"]
    assert parameter["name"] == "idCards" and parameter["required"] is True
