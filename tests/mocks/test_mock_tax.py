"""tax: plain XML, HMAC-SHA256 signed requests, batched income bands.

Signatures are computed here straight from the contract, not with the mock's helper, so the test checks
the wire format the gateway implements.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import aiohttp
import pytest
from defusedxml.ElementTree import fromstring

from mocks.server import RunningMocks
from mocks.world import DEFAULT_SEED, FIXTURE_RESIDENTS, build_world, id_check_char
from tests.conftest import Admin
from tests.mocks.support import signed as sign

WORLD = build_world(DEFAULT_SEED)
SECRET = b"sj-hmac-secret"
SERVICES = "/tax/xml/services"
BANDS = "/tax/xml/income-bands"
XS = "{http://www.w3.org/2001/XMLSchema}"
UNKNOWN_ID = "31011519000101123" + id_check_char("31011519000101123")


def signed(
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    *,
    secret: bytes = SECRET,
    app_id: str = "onestop",
    timestamp: int | None = None,
) -> dict[str, str]:
    return sign(method, path, params, secret=secret, app_id=app_id, timestamp=timestamp)


async def get_services(
    http: aiohttp.ClientSession, mocks: RunningMocks, headers: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    sent = signed("GET", SERVICES) if headers is None else headers
    async with http.get(f"{mocks.url}{SERVICES}", headers=sent) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


async def post_bands(
    http: aiohttp.ClientSession, mocks: RunningMocks, body: str, headers: dict[str, str] | None = None
) -> tuple[int, ET.Element]:
    sent = {"Content-Type": "application/xml", **(signed("POST", BANDS) if headers is None else headers)}
    async with http.post(f"{mocks.url}{BANDS}", data=body.encode(), headers=sent) as response:
        assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
        return response.status, fromstring(await response.read())


def query(ids: list[str]) -> str:
    return "<query>" + "".join(f"<id>{i}</id>" for i in ids) + "</query>"


def fixture_ids() -> list[str]:
    return [WORLD.residents[i].id_number for i in FIXTURE_RESIDENTS.values()]


async def test_services_xml(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, content_type, raw = await get_services(http, mocks)
    assert status == 200 and content_type == "application/xml; charset=utf-8"
    root = fromstring(raw)
    assert root.tag == "services"
    services = WORLD.services_of("tax")
    assert [s.get("code") for s in root.findall("service")] == [s.code for s in services] and services
    for element, service in zip(root.findall("service"), services, strict=True):
        assert [child.tag for child in element] == [
            "name",
            "name",
            "description",
            "category",
            "channels",
            "fee_fen",
            "days",
            "documents",
            "updated",
            "criteria",
        ]
        names = {n.get("lang"): n.text for n in element.findall("name")}
        assert names == {"zh": service.name_zh, "en": service.name_en}
        assert element.findtext("category") == "tax"
        assert set((element.findtext("channels") or "").split(",")) <= {
            "办税服务厅",
            "电子税务局",
            "个税APP",
            "微信",
            "自助办税终端",
        }
        assert [d.text for d in element.findall("documents/document")] == list(service.documents)
        assert element.findtext("updated") == service.updated_at.isoformat()
        criteria = element.findall("criteria/criterion")
        assert [(c.get("fact"), c.get("op"), c.text) for c in criteria] == [
            (c.fact, c.op, c.text_zh) for c in service.criteria
        ]
    values = {c.get("value") for c in root.iter("criterion")}
    assert {"16", "FLEXIBLE", "RESIDENT"} <= values


@pytest.mark.parametrize("tamper", ["secret", "app_id", "stale", "path", "method", "missing"])
async def test_bad_signatures_are_401(mocks: RunningMocks, http: aiohttp.ClientSession, tamper: str) -> None:
    headers = {
        "secret": lambda: signed("GET", SERVICES, secret=b"guess"),
        "app_id": lambda: signed("GET", SERVICES, app_id="someone"),
        "stale": lambda: signed("GET", SERVICES, timestamp=int(time.time()) - 301),
        "path": lambda: signed("GET", BANDS),
        "method": lambda: signed("POST", SERVICES),
        "missing": lambda: {},
    }[tamper]()
    status, _, raw = await get_services(http, mocks, headers)
    error = fromstring(raw)
    assert status == 401 and error.tag == "error" and error.get("code") == "E0401"


async def test_bands_for_known_residents_only(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    ids = fixture_ids()
    status, root = await post_bands(http, mocks, query([*ids, UNKNOWN_ID, ids[0]]))
    assert status == 200 and root.tag == "bands"
    bands = [(b.get("id"), b.get("level"), b.get("year")) for b in root.findall("band")]
    expected = [(r.id_number, r.income_band, "2025") for r in (WORLD.resident(i) for i in ids) if r]
    assert bands == expected and len(bands) == len(ids)


async def test_a_batch_of_100_is_answered(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    ids = [r.id_number for r in WORLD.residents[:100]]
    status, root = await post_bands(http, mocks, query(ids))
    assert status == 200 and [b.get("id") for b in root] == ids


@pytest.mark.parametrize(
    "body",
    [
        query([]),
        query([UNKNOWN_ID] * 101),
        "not xml",
        "<bands><id>1</id></bands>",
        "<query><id>1</id><name>x</name></query>",
        '<!DOCTYPE q [<!ENTITY a "aaaa">]><query><id>&a;</id></query>',
    ],
)
async def test_bad_queries_are_400(mocks: RunningMocks, http: aiohttp.ClientSession, body: str) -> None:
    status, error = await post_bands(http, mocks, body)
    assert status == 400 and error.tag == "error" and error.get("code", "").startswith("E1")


async def test_bands_need_a_signature(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, error = await post_bands(http, mocks, query(fixture_ids()), signed("POST", BANDS, secret=b"x"))
    assert status == 401 and error.get("code") == "E0401"


async def test_xsd_describes_every_document(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/tax/xml/schema.xsd") as response:
        assert response.status == 200 and response.content_type == "application/xml"
        schema = fromstring(await response.read())
    assert schema.tag == f"{XS}schema"
    assert {e.get("name") for e in schema.findall(f"{XS}element")} == {"services", "query", "bands", "error"}
    levels = [e.get("value") for e in schema.iter(f"{XS}enumeration") if e.get("value", "").isupper()]
    assert levels == ["LOW", "LOWER_MIDDLE", "MIDDLE", "UPPER_MIDDLE", "HIGH"]


async def test_failure_is_500_with_an_error_document(
    mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    await admin.fault("tax", error_rate=1)
    status, error = await post_bands(http, mocks, query(fixture_ids()))
    assert status == 500 and error.tag == "error" and error.get("code") == "E9999"


async def test_malformed_is_broken_xml(
    mocks: RunningMocks, http: aiohttp.ClientSession, admin: Admin
) -> None:
    await admin.fault("tax", malformed=True)
    status, content_type, raw = await get_services(http, mocks)
    assert status == 200 and content_type == "application/xml; charset=utf-8"
    with pytest.raises(ET.ParseError):
        fromstring(raw)
