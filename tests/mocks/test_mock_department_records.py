"""The residents' data hrss, civil-affairs and health serve (issue 16, item 4), at the wire: each
department's own refusals, batch limits and idempotency, as a tester without the gateway meets them."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import aiohttp
from defusedxml.ElementTree import fromstring

from mocks.server import RunningMocks
from tests.mocks.support import WORLD, bearer, fetch_token, signed, unknown_id

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MZ = "urn:pudong:minzheng"
MZ_AUTH = aiohttp.encode_basic_auth("onestop", "mz-secret")


async def hrss_token(http: aiohttp.ClientSession, mocks: RunningMocks) -> dict[str, str]:
    data = {"grant_type": "client_credentials", "client_id": "onestop", "client_secret": "hrss-secret"}
    return bearer(await fetch_token(http, f"{mocks.url}/hrss/oauth/token", data, expires_in=300))


def rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("gb18030"))))


async def test_hrss_employment_is_a_batch_of_known_residents(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    headers = await hrss_token(http, mocks)
    url = f"{mocks.url}/hrss/export/employment.csv"
    ids = [r.id_number for r in WORLD.residents[:3]]
    async with http.get(url, params={"sfzh": "|".join([*ids, unknown_id()])}, headers=headers) as response:
        assert response.status == 200 and response.headers["Content-Type"] == "text/csv; charset=GB18030"
        got = rows(await response.read())
    assert [r["身份证号"] for r in got] == ids  # the stranger is simply absent
    assert {r["就业状态"] for r in got} <= {"就业", "失业", "退休", "在校学生", "灵活就业", "无就业登记"}
    for params, status in [
        ({"sfzh": "|".join(r.id_number for r in WORLD.residents[:51])}, 400),
        ({"sfzh": "123"}, 400),
        ({}, 400),
    ]:
        async with http.get(url, params=params, headers=headers) as response:
            assert response.status == status and (await response.json())["error"] == "invalid_request"
    async with http.get(url, params={"sfzh": ids[0]}) as response:
        assert response.status == 401


async def test_hrss_shenbao_keeps_its_serial_numbers(
    mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    headers = await hrss_token(http, mocks)
    url = f"{mocks.url}/hrss/api/shenbao"
    resident = WORLD.residents[1].id_number
    form = {"ywlsh": "RS-TEST-0001", "sfzh": resident, "sxbm": "RS-004", "sqcl": "居民身份证|就业失业登记证"}
    async with http.post(url, data=form, headers=headers) as response:  # a form body, as a browser posts
        assert response.status == 200 and response.headers["X-Replayed"] == "false"
        [made] = rows(await response.read())
    async with http.post(url, params=form, headers=headers) as response:  # the query string, as the gateway
        assert response.status == 200 and response.headers["X-Replayed"] == "true"
        assert rows(await response.read()) == [made]
    assert made["办件状态"] == "已申报" and json.loads(made["办理过程"])[0]["状态"] == "已申报"
    other = form | {"sqcl": "居民身份证"}
    async with http.post(url, params=other, headers=headers) as response:
        assert response.status == 409 and (await response.json())["error"] == "duplicate_request"
    for bad in (
        form | {"sxbm": "MZ-001", "ywlsh": "x2"},
        form | {"bdxx": "[1]", "ywlsh": "x3"},
        {"sfzh": "1"},
    ):
        async with http.post(url, params=bad, headers=headers) as response:
            assert response.status == 400, bad
    async with http.get(
        f"{mocks.url}/hrss/export/cases.csv", params={"sfzh": resident}, headers=headers
    ) as response:
        listed = rows(await response.read())
    assert [r["办件编号"] for r in listed].count(made["办件编号"]) == 1


async def soap(
    http: aiohttp.ClientSession, mocks: RunningMocks, operation: str, inner: str
) -> tuple[int, Any]:
    body = (
        f'<soap:Envelope xmlns:soap="{SOAP}"><soap:Body><mz:{operation} xmlns:mz="{MZ}">{inner}'
        f"</mz:{operation}></soap:Body></soap:Envelope>"
    )
    headers = {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": f'"{MZ}#{operation}"',
        "Authorization": MZ_AUTH,
    }
    async with http.post(f"{mocks.url}/civil-affairs/soap", data=body.encode(), headers=headers) as response:
        return response.status, fromstring(await response.text())


def ids_xml(ids: list[str]) -> str:
    return "".join(f"<mz:IdNumber>{i}</mz:IdNumber>" for i in ids)


async def test_civil_affairs_allowance_and_cases(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    on_allowance = [r for r in WORLD.residents if r.minimum_allowance][:2]
    others = [r for r in WORLD.residents if not r.minimum_allowance][:2]
    asked = [r.id_number for r in on_allowance + others]
    status, envelope = await soap(http, mocks, "QueryMinimumAllowance", ids_xml([*asked, unknown_id()]))
    assert status == 200
    people = envelope.findall(f"{{{SOAP}}}Body/{{{MZ}}}QueryMinimumAllowanceResponse/{{{MZ}}}Person")
    assert [(p.findtext(f"{{{MZ}}}IdNumber"), p.findtext(f"{{{MZ}}}DibaoStatus")) for p in people] == [
        *((i, "在保") for i in asked[:2]),
        *((i, "未享受") for i in asked[2:]),
    ]
    too_many = [r.id_number for r in WORLD.residents[:101]]
    for operation, inner in [
        ("QueryMinimumAllowance", ids_xml(too_many)),
        ("QueryMinimumAllowance", ids_xml(["310115"])),
        ("ListCases", ids_xml(asked[:2])),
        ("ListCases", ""),
    ]:
        status, envelope = await soap(http, mocks, operation, inner)
        assert status == 500 and envelope.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault") is not None, operation
    case = WORLD.cases_of("civil-affairs")[0]
    status, envelope = await soap(http, mocks, "ListCases", ids_xml([case.resident]))
    refs = [c.findtext(f"{{{MZ}}}CaseNo") for c in envelope.iter(f"{{{MZ}}}Case")]
    assert status == 200 and case.ref in refs


async def test_health_cases_are_signed_and_paged(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    counts: dict[str, int] = {}
    for case in WORLD.cases_of("health"):
        counts[case.resident] = counts.get(case.resident, 0) + 1
    resident = max(counts, key=lambda r: counts[r])
    path = "/health/v2/cases"
    seen: list[str] = []
    params = {"idCard": resident, "limit": "1"}
    while True:
        headers = signed("GET", path, params, secret=b"health-hmac-secret")
        async with http.get(f"{mocks.url}{path}", params=params, headers=headers) as response:
            assert response.status == 200
            page = await response.json()
        seen += [item["caseId"] for item in page["items"]]
        if page["nextCursor"] is None:
            break
        params = params | {"cursor": page["nextCursor"]}
    assert seen == [c.ref for c in WORLD.cases_of("health") if c.resident == resident] and len(seen) > 1
    bad = {"idCard": "not-an-id"}
    async with http.get(
        f"{mocks.url}{path}", params=bad, headers=signed("GET", path, bad, secret=b"health-hmac-secret")
    ) as response:
        assert response.status == 400 and (await response.json()) == {"error": "bad_id_card"}
    async with http.get(f"{mocks.url}{path}", params={"idCard": resident}) as response:
        assert response.status == 401
