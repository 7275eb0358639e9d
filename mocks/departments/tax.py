"""税务局 — the taxation bureau: its services and residents' income bands, as plain XML.

Its habits: plain XML (no SOAP), every request signed with HMAC-SHA256 like the health commission's
(same string to sign, its own secret), no paging, ISO 8601 dates, names as `<name lang="zh|en">`,
channels as one comma-separated element in Chinese, and income bands answered for up to 100
residents per request (unknown ones simply absent).  Errors are a small `<error code="…">` document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from xml.etree.ElementTree import ParseError

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from mocks import auth
from mocks.criteria import criterion_value_text
from mocks.departments import Department, Mounted
from mocks.responses import served_xml, xml_response
from mocks.world import Channel, Resident, Service, World

PREFIX = "/tax"
APP_ID = "onestop"
HMAC_SECRET = b"sj-hmac-secret"
MAX_BATCH = 100
#: The tax year the income bands describe (the last one assessed before the reference day).
TAX_YEAR = 2025
BANDS = ("LOW", "LOWER_MIDDLE", "MIDDLE", "UPPER_MIDDLE", "HIGH")

CHANNELS = {
    Channel.WINDOW: "办税服务厅",
    Channel.ONLINE: "电子税务局",
    Channel.APP: "个税APP",
    Channel.WECHAT: "微信",
    Channel.KIOSK: "自助办税终端",
}

XS_NS = "http://www.w3.org/2001/XMLSchema"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def error(status: int, code: str, message: str) -> web.Response:
    """The bureau's error document."""
    element = ET.Element("error", {"code": code})
    element.text = message
    return xml_response(_XML_DECL + ET.tostring(element, encoding="unicode") + "\n", status)


def system_error() -> web.Response:
    """How this system fails: HTTP 500 with an error document."""
    return error(500, "E9999", "系统异常，请稍后再试")


def service_element(service: Service) -> ET.Element:
    """One `<service>`: Chinese name first, then English, then the rest in the XSD's order."""
    element = ET.Element("service", {"code": service.code})
    ET.SubElement(element, "name", {"lang": "zh"}).text = service.name_zh
    ET.SubElement(element, "name", {"lang": "en"}).text = service.name_en
    for tag, text in (
        ("description", service.description),
        ("category", service.category),
        ("channels", ",".join(CHANNELS[c] for c in service.channels)),
        ("fee_fen", str(service.fee_fen)),
        ("days", str(service.processing_days)),
    ):
        ET.SubElement(element, tag).text = text
    documents = ET.SubElement(element, "documents")
    for document in service.documents:
        ET.SubElement(documents, "document").text = document
    ET.SubElement(element, "updated").text = service.updated_at.isoformat()
    criteria = ET.SubElement(element, "criteria")
    for criterion in service.criteria:
        value = criterion_value_text(criterion.value)
        attributes = {"fact": criterion.fact, "op": criterion.op, "value": value}
        ET.SubElement(criteria, "criterion", attributes).text = criterion.text_zh
    return element


def document(root: ET.Element) -> str:
    ET.indent(root)
    return _XML_DECL + ET.tostring(root, encoding="unicode") + "\n"


def services_xml(services: Iterable[Service]) -> str:
    root = ET.Element("services")
    root.extend(service_element(s) for s in services)
    return document(root)


def bands_xml(residents: Iterable[Resident]) -> str:
    """`<bands>` with one `<band>` per resident, in the order asked."""
    root = ET.Element("bands")
    for resident in residents:
        ET.SubElement(
            root, "band", {"id": resident.id_number, "level": resident.income_band, "year": str(TAX_YEAR)}
        )
    return document(root)


def asked_ids(body: bytes) -> list[str] | web.Response:
    """The ids in a `<query><id>…</id>*</query>` body, or the 400 explaining what is wrong with it."""
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException):
        return error(400, "E1001", "请求报文不是合法的XML")
    if root.tag != "query" or any(child.tag != "id" for child in root):
        return error(400, "E1002", "请求报文应为<query><id>…</id></query>")
    if not 1 <= len(root) <= MAX_BATCH:
        return error(400, "E1003", f"每次查询1到{MAX_BATCH}个身份证号")
    return [(child.text or "").strip() for child in root]


def xsd() -> str:
    """The XML Schema of every document the bureau sends or accepts."""
    channels = "|".join(CHANNELS.values())
    bands = "".join(f'<xs:enumeration value="{b}"/>' for b in BANDS)
    return f"""{_XML_DECL}<xs:schema xmlns:xs="{XS_NS}" elementFormDefault="unqualified">
  <xs:annotation><xs:documentation>浦东新区税务局数据接口. GET {PREFIX}/xml/services -> services;
    POST {PREFIX}/xml/income-bands with query (1 to {MAX_BATCH} ids) -> bands (unknown ids absent);
    errors -> error. Every request signed: X-App-Id, X-Timestamp (unix seconds, within 300 s) and
    X-Signature = hex(HMAC-SHA256(secret, METHOD\\npath\\ncanonical_query\\ntimestamp)).
    channels: comma-separated subset of {channels}.</xs:documentation></xs:annotation>
  <xs:complexType name="name">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="lang" use="required">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="zh"/><xs:enumeration value="en"/>
        </xs:restriction></xs:simpleType>
      </xs:attribute>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="criterion">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="fact" type="xs:string" use="required"/>
      <xs:attribute name="op" type="xs:string" use="required"/>
      <xs:attribute name="value" type="xs:string" use="required"/>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="service">
    <xs:sequence>
      <xs:element name="name" type="name" minOccurs="2" maxOccurs="2"/>
      <xs:element name="description" type="xs:string"/>
      <xs:element name="category" type="xs:string"/>
      <xs:element name="channels" type="xs:string"/>
      <xs:element name="fee_fen" type="xs:nonNegativeInteger"/>
      <xs:element name="days" type="xs:nonNegativeInteger"/>
      <xs:element name="documents">
        <xs:complexType><xs:sequence>
          <xs:element name="document" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="updated" type="xs:dateTime"/>
      <xs:element name="criteria">
        <xs:complexType><xs:sequence>
          <xs:element name="criterion" type="criterion" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="code" type="xs:string" use="required"/>
  </xs:complexType>
  <xs:element name="services">
    <xs:complexType><xs:sequence>
      <xs:element name="service" type="service" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="query">
    <xs:complexType><xs:sequence>
      <xs:element name="id" type="xs:string" minOccurs="1" maxOccurs="{MAX_BATCH}"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="bands">
    <xs:complexType><xs:sequence>
      <xs:element name="band" minOccurs="0" maxOccurs="{MAX_BATCH}">
        <xs:complexType>
          <xs:attribute name="id" type="xs:string" use="required"/>
          <xs:attribute name="level" use="required">
            <xs:simpleType><xs:restriction base="xs:string">{bands}</xs:restriction></xs:simpleType>
          </xs:attribute>
          <xs:attribute name="year" type="xs:gYear" use="required"/>
        </xs:complexType>
      </xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="error">
    <xs:complexType><xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="code" type="xs:string" use="required"/>
    </xs:extension></xs:simpleContent></xs:complexType>
  </xs:element>
</xs:schema>
"""


def _signed(request: web.Request) -> bool:
    return auth.signed_correctly(request, APP_ID, HMAC_SECRET)


def build(world: World) -> Mounted:
    """The catalogue (rendered once), the income-band lookup and the schema."""
    catalogue = services_xml(world.services_of("tax"))
    schema = xsd()
    signed_only = auth.guard(_signed, lambda: error(401, "E0401", "签名验证失败"))

    @signed_only
    async def services(request: web.Request) -> web.StreamResponse:
        return xml_response(catalogue)

    @signed_only
    async def income_bands(request: web.Request) -> web.StreamResponse:
        ids = asked_ids(await request.read())
        if isinstance(ids, web.Response):
            return ids
        known = (world.resident(i) for i in dict.fromkeys(ids))
        return xml_response(bands_xml(r for r in known if r is not None))

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/xml/services", services),
            web.post(f"{PREFIX}/xml/income-bands", income_bands),
            web.get(f"{PREFIX}/xml/schema.xsd", served_xml(schema)),
        ],
        fail=system_error,
    )


DEPARTMENT = Department(
    id="tax",
    name_zh="税务局",
    name_en="Taxation Bureau",
    prefix=PREFIX,
    capabilities=("catalog", "facts"),
    description_path=f"{PREFIX}/xml/schema.xsd",
    build=build,
)
