"""SOAP 1.1 framing shared by the two SOAP departments (civil affairs, public security).

Both answer document/literal calls in their own namespace and prefix; the envelope, the faults, the
checks that a request really is one SOAP 1.1 call, the `?wsdl` convention and the bare 401 from the web
server in front are the same, so they are written once here.  The operations stay with each department.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from aiohttp import web
from aiohttp.typedefs import Handler
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from mocks.responses import xml_response

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n'


@dataclass(frozen=True)
class SoapService:
    """One SOAP service's namespace (`urn:pudong:...`) and the prefix it writes it with (`mz`, `ga`)."""

    prefix: str
    namespace: str

    def envelope(self, body: str) -> str:
        """A whole SOAP 1.1 document around `body` (which may use `soap:` and the service prefix)."""
        return (
            f'{XML_DECL}<soap:Envelope xmlns:soap="{SOAP_NS}" xmlns:{self.prefix}="{self.namespace}">'
            f"<soap:Body>{body}</soap:Body></soap:Envelope>"
        )

    def leaf(self, tag: str, value: str) -> str:
        """`<prefix:tag>value</prefix:tag>` with the value escaped."""
        return f"<{self.prefix}:{tag}>{escape(value)}</{self.prefix}:{tag}>"

    def fault(self, code: str, message: str) -> web.Response:
        """A SOAP 1.1 fault with HTTP 500; `code` is `Client`, `Server` or `VersionMismatch`."""
        body = (
            f"<soap:Fault><faultcode>soap:{code}</faultcode>"
            f"<faultstring>{escape(message)}</faultstring></soap:Fault>"
        )
        return soap_response(self.envelope(body), status=500)

    def call_element(self, body: bytes) -> Element | web.Response:
        """The one operation element inside a well-formed SOAP 1.1 request, or the fault refusing it.

        Which operation it must be is the caller's check: each service words that fault its own way.
        """
        try:
            envelope = fromstring(body)
        except (ParseError, DefusedXmlException):
            return self.fault("Client", "请求报文不是合法的XML")
        if envelope.tag == f"{{{SOAP12_NS}}}Envelope":
            return self.fault("VersionMismatch", "仅支持SOAP 1.1")
        if envelope.tag != f"{{{SOAP_NS}}}Envelope":
            return self.fault("Client", "缺少soap:Envelope")
        soap_body = envelope.find(f"{{{SOAP_NS}}}Body")
        if soap_body is None or len(soap_body) != 1:
            return self.fault("Client", "soap:Body必须包含且仅包含一个操作元素")
        return soap_body[0]


def soap_response(document: str, status: int = 200) -> web.Response:
    """A SOAP document as SOAP 1.1 sends it: `text/xml; charset=utf-8`."""
    return xml_response(document, status, content_type="text/xml")


def basic_refusal(realm: str) -> web.Response:
    """The bare 401 the web server in front of a SOAP service answers before SOAP is involved."""
    return web.Response(
        status=401,
        text="401 Unauthorized",
        content_type="text/plain",
        headers={"WWW-Authenticate": f'Basic realm="{realm}"'},
    )


def wsdl_handler(wsdl: Callable[[str], str], endpoint_path: str) -> Handler:
    """`GET endpoint?wsdl`: the WSDL pointing at the endpoint as the client reached it; without
    `?wsdl` (any case) a plain 400, as the services' web servers do."""

    async def describe(request: web.Request) -> web.StreamResponse:
        if not any(key.lower() == "wsdl" for key in request.query):
            return web.Response(
                status=400, text="Append ?wsdl to get the service description.", content_type="text/plain"
            )
        return soap_response(wsdl(f"{request.scheme}://{request.host}{endpoint_path}"))

    return describe
