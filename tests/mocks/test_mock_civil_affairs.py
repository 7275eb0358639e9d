"""civil-affairs: SOAP 1.1 over HTTP Basic auth, faults, WSDL."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

import aiohttp
import pytest
from defusedxml.ElementTree import fromstring

from mocks.server import RunningMocks
from mocks.world import build_world
from tests.mocks.support import value_text

WORLD = build_world()
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MZ = "urn:pudong:minzheng"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
AUTH = aiohttp.encode_basic_auth("onestop", "mz-secret")
ACTION = '"urn:pudong:minzheng#ListServices"'
ENVELOPE = (
    f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>'
    f'<mz:ListServices xmlns:mz="{MZ}"/></soap:Body></soap:Envelope>'
)
HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": ACTION}


async def call(
    http: aiohttp.ClientSession,
    mocks: RunningMocks,
    body: str = ENVELOPE,
    headers: dict[str, str] | None = None,
    auth: str | None = AUTH,
) -> tuple[int, str, str]:
    sent = dict(HEADERS if headers is None else headers)
    if auth is not None:
        sent["Authorization"] = auth
    async with http.post(f"{mocks.url}/civil-affairs/soap", data=body.encode(), headers=sent) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


def fault_of(text: str) -> tuple[str, str]:
    envelope = fromstring(text)
    fault = envelope.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None
    return fault.findtext("faultcode", ""), fault.findtext("faultstring", "")


async def test_list_services_envelope(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, content_type, text = await call(http, mocks)
    assert status == 200
    assert content_type == "text/xml; charset=utf-8"
    envelope = fromstring(text)
    assert envelope.tag == f"{{{SOAP}}}Envelope"
    services = envelope.findall(f"{{{SOAP}}}Body/{{{MZ}}}ListServicesResponse/{{{MZ}}}Service")
    assert len(services) == 5

    def text_of(element: ET.Element, tag: str) -> str:
        value = element.findtext(f"{{{MZ}}}{tag}")
        assert value is not None, tag
        return value

    codes = []
    for service in services:
        codes.append(text_of(service, "Code"))
        assert re.fullmatch(r"MZ-\d{3}", codes[-1])
        assert text_of(service, "NameZh") and text_of(service, "NameEn").isascii()
        assert text_of(service, "Description")
        assert text_of(service, "Category") in {"SUBSIDY", "MARRIAGE", "SENIOR_CARE", "SOCIAL_ASSISTANCE"}
        channels = [c.text for c in service.findall(f"{{{MZ}}}Channels/{{{MZ}}}Channel")]
        assert channels and set(channels) <= {"WINDOW", "ONLINE", "APP", "WECHAT", "KIOSK"}
        assert re.fullmatch(r"\d+\.\d\d", text_of(service, "FeeYuan"))
        assert int(text_of(service, "ProcessingDays")) >= 0
        documents = [d.text for d in service.findall(f"{{{MZ}}}Documents/{{{MZ}}}Document")]
        assert 1 <= len(documents) <= 4 and all(documents)
        updated = datetime.fromisoformat(text_of(service, "UpdatedAt"))
        assert updated.utcoffset() is not None
        seeded = WORLD.service(codes[-1])
        assert seeded is not None
        criteria = service.findall(f"{{{MZ}}}Criteria/{{{MZ}}}Criterion")
        assert [(c.get("fact"), c.get("op"), c.get("value"), c.text) for c in criteria] == [
            (c.fact, c.op, value_text(c.value), c.text_zh) for c in seeded.criteria
        ]
        assert criteria  # every civil-affairs service says who may apply
    assert len(set(codes)) == 5
    assert "最低生活保障申请" in text


async def test_soap_action_without_quotes_is_accepted(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    status, _, _ = await call(http, mocks, headers={**HEADERS, "SOAPAction": ACTION.strip('"')})
    assert status == 200


@pytest.mark.parametrize(
    "auth",
    [
        None,
        aiohttp.encode_basic_auth("onestop", "wrong"),
        aiohttp.encode_basic_auth("x", "mz-secret"),
        "Bearer mz-secret",
    ],
)
async def test_basic_auth_required(
    mocks: RunningMocks, http: aiohttp.ClientSession, auth: str | None
) -> None:
    headers = HEADERS if auth is None else {**HEADERS, "Authorization": auth}
    url = f"{mocks.url}/civil-affairs/soap"
    async with http.post(url, data=ENVELOPE.encode(), headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")


async def test_garbage_authorization_header_is_401(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    headers = {**HEADERS, "Authorization": "Basic !!!notbase64"}
    status, _, _ = await call(http, mocks, headers=headers, auth=None)
    assert status == 401


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        (ENVELOPE, {"Content-Type": "text/xml"}, "soap:Client"),
        (ENVELOPE, {**HEADERS, "SOAPAction": '"urn:pudong:minzheng#DeleteEverything"'}, "soap:Client"),
        ("<soap:Envelope", HEADERS, "soap:Client"),
        (ENVELOPE.replace("ListServices", "GetService"), HEADERS, "soap:Client"),
        ("<Envelope/>", HEADERS, "soap:Client"),
        (ENVELOPE.replace(SOAP, "http://www.w3.org/2003/05/soap-envelope"), HEADERS, "soap:VersionMismatch"),
    ],
)
async def test_bad_requests_are_soap_faults(
    mocks: RunningMocks, http: aiohttp.ClientSession, body: str, headers: dict[str, str], code: str
) -> None:
    status, content_type, text = await call(http, mocks, body=body, headers=headers)
    assert status == 500
    assert content_type.startswith("text/xml")
    faultcode, faultstring = fault_of(text)
    assert faultcode == code and faultstring


async def test_entity_expansion_is_refused(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        + ENVELOPE.replace("<soap:Body>", "<soap:Body>&b;")
    )
    status, _, text = await call(http, mocks, body=bomb)
    assert status == 500 and fault_of(text)[0] == "soap:Client"


async def test_wsdl(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/civil-affairs/soap?wsdl") as response:
        assert response.status == 200
        assert response.content_type == "text/xml"
        definitions = fromstring(await response.text())
    assert definitions.tag == f"{{{WSDL}}}definitions"
    assert definitions.get("targetNamespace") == MZ
    address = definitions.find(f"{{{WSDL}}}service/{{{WSDL}}}port/{{{WSDL_SOAP}}}address")
    assert address is not None and address.get("location") == f"{mocks.url}/civil-affairs/soap"
    operation = definitions.find(f"{{{WSDL}}}binding/{{{WSDL}}}operation/{{{WSDL_SOAP}}}operation")
    assert operation is not None and operation.get("soapAction") == ACTION.strip('"')
    schema_elements = {e.get("name") for e in definitions.iter("{http://www.w3.org/2001/XMLSchema}element")}
    assert {
        "ListServices",
        "ListServicesResponse",
        "Code",
        "NameZh",
        "NameEn",
        "Description",
        "Category",
        "Channels",
        "Channel",
        "FeeYuan",
        "ProcessingDays",
        "Documents",
        "Document",
        "UpdatedAt",
        "Criteria",
        "Criterion",
    } <= schema_elements
    xs = "{http://www.w3.org/2001/XMLSchema}"
    criterion = next(t for t in definitions.iter(f"{xs}complexType") if t.get("name") == "Criterion")
    assert {a.get("name") for a in criterion.iter(f"{xs}attribute")} == {"fact", "op", "value"}


async def test_get_without_wsdl_query_is_400(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}/civil-affairs/soap") as response:
        assert response.status == 400
