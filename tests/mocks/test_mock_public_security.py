"""public-security: SOAP 1.1, two operations, HTTP Basic, one resident per call, NOT_FOUND faults."""

from __future__ import annotations

from datetime import datetime
from xml.etree.ElementTree import Element, ParseError

import aiohttp
import pytest
from defusedxml.ElementTree import fromstring

from mocks.server import RunningMocks
from mocks.world import FIXTURE_RESIDENTS, build_world, id_check_char

WORLD = build_world()
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
GA = "urn:pudong:gongan"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
URL = "/public-security/ws"
AUTH = aiohttp.encode_basic_auth("onestop", "ga-secret")
LIST = f'"{GA}#ListServices"'
GET = f'"{GA}#GetHouseholdRegistration"'
UNKNOWN = "31011519000101999" + id_check_char("31011519000101999")  # valid, nobody's


def envelope(operation: str) -> str:
    return f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body>{operation}</soap:Body></soap:Envelope>'


def registration(*id_numbers: str) -> str:
    ids = "".join(f"<ga:IdNumber>{i}</ga:IdNumber>" for i in id_numbers)
    return envelope(f'<ga:GetHouseholdRegistration xmlns:ga="{GA}">{ids}</ga:GetHouseholdRegistration>')


LIST_BODY = envelope(f'<ga:ListServices xmlns:ga="{GA}"/>')


async def call(
    http: aiohttp.ClientSession,
    mocks: RunningMocks,
    body: str,
    action: str | None,
    auth: str | None = AUTH,
) -> tuple[int, Element]:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    if action is not None:
        headers["SOAPAction"] = action
    if auth is not None:
        headers["Authorization"] = auth
    async with http.post(f"{mocks.url}{URL}", data=body.encode(), headers=headers) as response:
        assert response.content_type == "text/xml"
        return response.status, fromstring(await response.text())


def fault_of(root: Element) -> tuple[str, str]:
    fault = root.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None
    return fault.findtext("faultcode", ""), fault.findtext("faultstring", "")


def text(element: Element, tag: str) -> str:
    value = element.findtext(f"{{{GA}}}{tag}")
    assert value is not None, tag
    return value


async def test_list_services(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    status, root = await call(http, mocks, LIST_BODY, LIST)
    assert status == 200
    services = root.findall(f"{{{SOAP}}}Body/{{{GA}}}ListServicesResponse/{{{GA}}}Service")
    seeded = WORLD.services_of("public-security")
    assert [text(s, "Code") for s in services] == [s.code for s in seeded]
    for element, service in zip(services, seeded, strict=True):
        assert text(element, "NameZh") == service.name_zh and text(element, "Category") == "HOUSEHOLD"
        channels = [c.text for c in element.findall(f"{{{GA}}}Channels/{{{GA}}}Channel")]
        assert channels and set(channels) <= {"COUNTER", "INTERNET", "APP", "WECHAT", "SELF_SERVICE"}
        assert int(text(element, "FeeFen")) == service.fee_fen
        assert datetime.fromisoformat(text(element, "UpdatedAt")) == service.updated_at
        criteria = element.findall(f"{{{GA}}}Criteria/{{{GA}}}Criterion")
        assert [(c.get("fact"), c.get("op"), c.text) for c in criteria] == [
            (c.fact, c.op, c.text_zh) for c in service.criteria
        ]
    first = services[0].findall(f"{{{GA}}}Criteria/{{{GA}}}Criterion")
    assert [c.get("value") for c in first] == ["外省市", "16"]  # numbers written in decimal


@pytest.mark.parametrize("name", ["senior_pudong", "rural_head", "non_pudong_hukou"])
async def test_household_registration_of_one_resident(
    mocks: RunningMocks, http: aiohttp.ClientSession, name: str
) -> None:
    resident = WORLD.residents[FIXTURE_RESIDENTS[name]]
    status, root = await call(http, mocks, registration(resident.id_number), GET)
    assert status == 200
    person = root.find(f"{{{SOAP}}}Body/{{{GA}}}GetHouseholdRegistrationResponse/{{{GA}}}Person")
    assert person is not None
    assert text(person, "IdNumber") == resident.id_number
    assert text(person, "Name") == resident.name
    assert text(person, "BirthDate") == resident.birth_date.strftime("%Y%m%d")
    assert text(person, "Gender") == {"M": "男", "F": "女"}[resident.gender]
    assert text(person, "HukouDistrict") == resident.hukou_district
    assert text(person, "HouseholdId") == resident.household_id
    assert text(person, "HouseholdType") == {"urban": "城镇", "rural": "农村"}[resident.household_type]
    assert text(person, "Address") == resident.address


@pytest.mark.parametrize(
    ("body", "faultstring"),
    [
        (registration(UNKNOWN), "NOT_FOUND"),
        (registration(UNKNOWN[:17] + ("0" if UNKNOWN[17] != "0" else "1")), "INVALID_ID_NUMBER"),  # bad check
        (registration("abc"), "INVALID_ID_NUMBER"),
        (registration(WORLD.residents[0].id_number, WORLD.residents[1].id_number), "ONE_PERSON_PER_CALL"),
        (registration(), "缺少ga:IdNumber"),
        (registration(""), "缺少ga:IdNumber"),
    ],
)
async def test_registration_faults(
    mocks: RunningMocks, http: aiohttp.ClientSession, body: str, faultstring: str
) -> None:
    status, root = await call(http, mocks, body, GET)
    assert status == 500 and fault_of(root) == ("soap:Client", faultstring)


@pytest.mark.parametrize(
    ("body", "action", "code"),
    [
        (LIST_BODY, None, "soap:Client"),
        (LIST_BODY, f'"{GA}#DeleteEverything"', "soap:Client"),
        (LIST_BODY, '"urn:pudong:minzheng#ListServices"', "soap:Client"),
        (LIST_BODY, GET, "soap:Client"),  # the body's operation must be the SOAPAction's
        (registration(UNKNOWN), LIST, "soap:Client"),
        ("<soap:Envelope", LIST, "soap:Client"),
        ("<Envelope/>", LIST, "soap:Client"),
        (LIST_BODY.replace(SOAP, "http://www.w3.org/2003/05/soap-envelope"), LIST, "soap:VersionMismatch"),
    ],
)
async def test_bad_requests_are_faults(
    mocks: RunningMocks, http: aiohttp.ClientSession, body: str, action: str | None, code: str
) -> None:
    status, root = await call(http, mocks, body, action)
    assert status == 500 and fault_of(root)[0] == code


@pytest.mark.parametrize(
    "auth",
    [
        None,
        aiohttp.encode_basic_auth("onestop", "wrong"),
        aiohttp.encode_basic_auth("x", "ga-secret"),
        "Basic !!",
    ],
)
async def test_basic_auth_required(
    mocks: RunningMocks, http: aiohttp.ClientSession, auth: str | None
) -> None:
    headers = {"SOAPAction": LIST, **({} if auth is None else {"Authorization": auth})}
    async with http.post(f"{mocks.url}{URL}", data=LIST_BODY.encode(), headers=headers) as response:
        assert response.status == 401 and response.headers["WWW-Authenticate"].startswith("Basic")


async def test_wsdl(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}{URL}?wsdl") as response:
        assert response.status == 200 and response.content_type == "text/xml"
        definitions = fromstring(await response.text())
    assert definitions.tag == f"{{{WSDL}}}definitions" and definitions.get("targetNamespace") == GA
    address = definitions.find(f"{{{WSDL}}}service/{{{WSDL}}}port/{{{WSDL_SOAP}}}address")
    assert address is not None and address.get("location") == f"{mocks.url}{URL}"
    actions = {
        o.get("soapAction") for o in definitions.iter(f"{{{WSDL_SOAP}}}operation") if o.get("soapAction")
    }
    assert actions == {LIST.strip('"'), GET.strip('"')}
    names = {e.get("name") for e in definitions.iter("{http://www.w3.org/2001/XMLSchema}element")}
    assert {"Service", "Criteria", "Criterion", "FeeFen", "Person", "BirthDate", "HouseholdType"} <= names


async def test_get_without_wsdl_is_400(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{mocks.url}{URL}") as response:
        assert response.status == 400


async def test_failure_is_a_server_fault(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/public-security", json={"error_rate": 1.0}) as response:
        assert response.status == 200
    status, root = await call(http, mocks, LIST_BODY, LIST)
    assert status == 500 and fault_of(root)[0] == "soap:Server"


async def test_malformed_body(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    async with http.put(f"{mocks.url}/_admin/faults/public-security", json={"malformed": True}) as response:
        assert response.status == 200
    headers = {"SOAPAction": LIST, "Authorization": AUTH}
    async with http.post(f"{mocks.url}{URL}", data=LIST_BODY.encode(), headers=headers) as response:
        assert response.status == 200 and response.content_type == "text/xml"
        body = await response.read()
    with pytest.raises(ParseError):
        fromstring(body)
