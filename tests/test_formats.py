"""Reading hostile or broken department payloads: typed errors, never a crash or a hang."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from connectors.errors import UpstreamCode, UpstreamError
from connectors.formats import decode_page
from connectors.spec import CsvFormat, Envelope, JsonFormat, Soap11, XmlFormat
from connectors.transport import AiohttpTransport, UpstreamRequest, UpstreamResponse


def response(body: bytes, content_type: str = "application/json", **headers: str) -> UpstreamResponse:
    return UpstreamResponse(200, headers, body, content_type, None)


def refused(page_args: tuple, code: UpstreamCode = UpstreamCode.BAD_RESPONSE) -> str:  # type: ignore[type-arg]
    with pytest.raises(UpstreamError) as caught:
        decode_page(*page_args)
    assert caught.value.code is code and caught.value.department == "demo"
    return caught.value.message


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<services><service>&lol3;</service></services>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]><services><service>&secret;</service></services>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_xml_entity_attacks_are_refused(body: bytes) -> None:
    message = refused((response(body, "text/xml"), XmlFormat(kind="xml"), "service", "demo"))
    assert "refused" in message


def test_xml_that_is_not_xml() -> None:
    refused((response(b"<services><service>", "text/xml"), XmlFormat(kind="xml"), "service", "demo"))


def test_soap_fault_server_is_unavailable_client_is_bad_response() -> None:
    fault = (
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
        b"<faultcode>soap:%s</faultcode><faultstring>x</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    )
    soap = XmlFormat(kind="xml", soap=Soap11(action="a"))
    refused((response(fault % b"Server", "text/xml"), soap, "x", "demo"), UpstreamCode.UNAVAILABLE)
    refused((response(fault % b"Client", "text/xml"), soap, "x", "demo"), UpstreamCode.BAD_RESPONSE)
    refused((response(b"<plain/>", "text/xml"), soap, "x", "demo"))  # not an envelope at all


def test_json_envelope_failure_code_with_http_200_is_unavailable() -> None:
    fmt = JsonFormat(kind="json", envelope=Envelope())
    body = '{"code": 5001, "msg": "系统繁忙", "data": null}'.encode()
    message = refused((response(body), fmt, "rows", "demo"), UpstreamCode.UNAVAILABLE)
    assert "5001" in message
    refused((response(b'{"data": []}'), fmt, "rows", "demo"))  # no code at all
    refused((response(b'{"code": 0, "data": {"rows": "nope"}}'), fmt, "rows", "demo"))  # not a list
    refused((response(b'{"code": 0, "data": {"rows": [], "total": "many"}}'), fmt, "rows", "demo", "total"))


def test_csv_in_the_wrong_charset_or_ragged_is_refused() -> None:
    gb = CsvFormat(kind="csv", charset="gb18030")
    assert decode_page(response("编码,名称\nA,甲\n".encode("gb18030")), gb, "", "demo").items == [
        {"编码": "A", "名称": "甲"}
    ]
    refused((response(b"\xff\xfe\x81", "text/csv"), CsvFormat(kind="csv"), "", "demo"))
    refused((response(b"a,b\n1,2,3\n", "text/csv"), CsvFormat(kind="csv"), "", "demo"))


@pytest_asyncio.fixture
async def big_body_server() -> AsyncIterator[str]:
    async def huge(request: web.Request) -> web.StreamResponse:
        stream = web.StreamResponse()
        await stream.prepare(request)
        for _ in range(64):  # 4 MiB, chunked: no Content-Length to trust
            await stream.write(b"x" * 65_536)
        return stream

    app = web.Application()
    app.router.add_get("/huge", huge)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_an_oversized_body_is_cut_off(big_body_server: str) -> None:
    transport = AiohttpTransport("demo", pool_size=2, max_body_bytes=1024 * 1024)
    try:
        with pytest.raises(UpstreamError) as caught:
            await transport.send(UpstreamRequest("GET", f"{big_body_server}/huge"), timeout=5)
        assert caught.value.code is UpstreamCode.BAD_RESPONSE and "larger than" in caught.value.message
    finally:
        await transport.close()
