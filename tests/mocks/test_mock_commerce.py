"""commerce: plain XML, no auth, no paging, and an XSD."""

from __future__ import annotations

import re
from datetime import date

import aiohttp
from defusedxml.ElementTree import fromstring

from mocks.server import RunningMocks
from mocks.world import build_world
from tests.mocks.support import value_text

XS = "{http://www.w3.org/2001/XMLSchema}"
WORLD = build_world()


async def test_services_xml(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/commerce/services.xml") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
        raw = await response.read()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = fromstring(raw)
    assert root.tag == "services"
    services = root.findall("service")
    assert len(services) == 3
    for service in services:
        assert re.fullmatch(r"SW-\d{3}", service.get("code", ""))
        assert [child.tag for child in service] == [
            "name_zh",
            "name_en",
            "description",
            "category",
            "channels",
            "fee_fen",
            "processing_days",
            "documents",
            "updated_on",
            "criteria",
        ]
        assert service.findtext("category") in {"vegetable_market", "business_license", "consumer"}
        channels = (service.findtext("channels") or "").split(",")
        assert set(channels) <= {"station", "app", "wechat", "online", "kiosk"}
        assert int(service.findtext("fee_fen") or "-1") >= 0
        assert int(service.findtext("processing_days") or "-1") >= 0
        documents = [d.text for d in service.findall("documents/document")]
        assert 1 <= len(documents) <= 4 and all(documents)
        assert date.fromisoformat(service.findtext("updated_on") or "").year == 2018
        seeded = WORLD.service(service.get("code", ""))
        assert seeded is not None
        assert [
            (c.get("fact"), c.get("op"), c.get("value"), c.text)
            for c in service.findall("criteria/criterion")
        ] == [(c.fact, c.op, value_text(c.value), c.text_zh) for c in seeded.criteria]
    assert any(s.findtext("category") == "vegetable_market" for s in services)
    assert any(s.findall("criteria/criterion") for s in services)


async def test_no_auth_needed_and_post_is_rejected(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    junk = {"Authorization": "Bearer junk"}
    async with http.get(f"{mocks.url}/commerce/services.xml", headers=junk) as response:
        assert response.status == 200
    async with http.post(f"{mocks.url}/commerce/services.xml") as response:
        assert response.status == 405


async def test_xsd_matches_the_document(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/commerce/services.xsd") as response:
        assert response.status == 200
        schema = fromstring(await response.read())
    assert schema.tag == f"{XS}schema"
    declared = {e.get("name") for e in schema.iter(f"{XS}element")}
    assert declared == {
        "services",
        "service",
        "name_zh",
        "name_en",
        "description",
        "category",
        "channels",
        "fee_fen",
        "processing_days",
        "documents",
        "document",
        "updated_on",
        "criteria",
        "criterion",
    }
    attribute = schema.find(f"{XS}complexType/{XS}attribute")
    assert attribute is not None and attribute.get("name") == "code"
    enumerated = {e.get("value") for e in schema.iter(f"{XS}enumeration")}
    assert enumerated == {"vegetable_market", "business_license", "consumer", "==", "!=", ">=", "<=", "in"}
    criterion = next(t for t in schema.iter(f"{XS}complexType") if t.get("name") == "criterion")
    assert {a.get("name") for a in criterion.iter(f"{XS}attribute")} == {"fact", "op", "value"}
