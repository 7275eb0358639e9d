"""商务委 — the commerce commission's catalogue: one plain XML file, no auth, no paging.

Its habits: a static-looking `services.xml` with snake_case element names, the code as an attribute,
channels as a comma-separated string and dates as `yyyy-MM-dd`; an XSD describes it.  Failures are
HTTP 500 with a small XML error document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from aiohttp import web

from mocks.criteria import criterion_value_text
from mocks.departments import Department, Mounted
from mocks.responses import served_xml, xml_response
from mocks.world import OPS, Channel, Service, World

PREFIX = "/commerce"
CATEGORIES = ("vegetable_market", "business_license", "consumer")
CHANNELS = {
    Channel.WINDOW: "station",
    Channel.ONLINE: "online",
    Channel.APP: "app",
    Channel.WECHAT: "wechat",
    Channel.KIOSK: "kiosk",
}


def server_error() -> web.Response:
    """How this system fails: HTTP 500 with an XML error document."""
    return xml_response(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<error><code>SYSTEM_BUSY</code><message>系统繁忙</message></error>",
        status=500,
    )


def service_element(service: Service) -> ET.Element:
    """One `<service>` element."""
    element = ET.Element("service", {"code": service.code})
    for tag, text in (
        ("name_zh", service.name_zh),
        ("name_en", service.name_en),
        ("description", service.description),
        ("category", service.category),
        ("channels", ",".join(CHANNELS[c] for c in service.channels)),
        ("fee_fen", str(service.fee_fen)),
        ("processing_days", str(service.processing_days)),
    ):
        ET.SubElement(element, tag).text = text
    documents = ET.SubElement(element, "documents")
    for document in service.documents:
        ET.SubElement(documents, "document").text = document
    ET.SubElement(element, "updated_on").text = service.updated_at.date().isoformat()
    criteria = ET.SubElement(element, "criteria")
    for criterion in service.criteria:
        attributes = {
            "fact": criterion.fact,
            "op": criterion.op,
            "value": criterion_value_text(criterion.value),
        }
        ET.SubElement(criteria, "criterion", attributes).text = criterion.text_zh
    return element


def services_xml(services: tuple[Service, ...]) -> str:
    """The whole catalogue document, UTF-8 declared."""
    root = ET.Element("services")
    root.extend(service_element(s) for s in services)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def xsd() -> str:
    """The XML Schema of `services.xml`."""
    categories = "".join(f'<xs:enumeration value="{c}"/>' for c in CATEGORIES)
    channel = "|".join(CHANNELS.values())
    ops = "".join(f'<xs:enumeration value="{escape(op)}"/>' for op in OPS)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="unqualified">
  <xs:annotation><xs:documentation>浦东新区商务委服务事项目录. channels: comma-separated subset of
    {channel}; fee_fen in fen; updated_on yyyy-MM-dd; criteria: who may apply (all must hold), each
    criterion fact op value (lists comma-separated, booleans true/false) with its wording as content.
  </xs:documentation></xs:annotation>
  <xs:simpleType name="category">
    <xs:restriction base="xs:string">{categories}</xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="channels">
    <xs:restriction base="xs:string">
      <xs:pattern value="({channel})(,({channel}))*"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="op">
    <xs:restriction base="xs:string">{ops}</xs:restriction>
  </xs:simpleType>
  <xs:complexType name="criterion">
    <xs:simpleContent>
      <xs:extension base="xs:string">
        <xs:attribute name="fact" type="xs:string" use="required"/>
        <xs:attribute name="op" type="op" use="required"/>
        <xs:attribute name="value" type="xs:string" use="required"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="service">
    <xs:sequence>
      <xs:element name="name_zh" type="xs:string"/>
      <xs:element name="name_en" type="xs:string"/>
      <xs:element name="description" type="xs:string"/>
      <xs:element name="category" type="category"/>
      <xs:element name="channels" type="channels"/>
      <xs:element name="fee_fen" type="xs:nonNegativeInteger"/>
      <xs:element name="processing_days" type="xs:nonNegativeInteger"/>
      <xs:element name="documents">
        <xs:complexType><xs:sequence>
          <xs:element name="document" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="updated_on" type="xs:date"/>
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
</xs:schema>
"""


def build(world: World) -> Mounted:
    """The catalogue file and its schema, both rendered once."""
    document = services_xml(world.services_of("commerce"))
    schema = xsd()

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/services.xml", served_xml(document)),
            web.get(f"{PREFIX}/services.xsd", served_xml(schema)),
        ],
        fail=server_error,
    )


DEPARTMENT = Department(
    id="commerce",
    name_zh="商务委",
    name_en="Commerce Commission",
    prefix=PREFIX,
    capabilities=("catalog",),
    description_path=f"{PREFIX}/services.xsd",
    build=build,
)
