"""建设和交通委（住房） — the housing side of the construction commission: catalogue and cases in XML.

Its habits: plain XML (no namespace, camelCase element names), every request signed with HMAC-SHA256
like the health commission's (its own secret), page paging whose position travels in attributes of
the root (`<result page="1" pages="3" total="45">`, `?page=&size=`, size at most 50), ISO 8601 times,
criteria and history events as elements whose data sits in attributes, and case statuses in Chinese.
Errors are small `<error>` documents with the HTTP status that fits.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from aiohttp import web
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from mocks import auth
from mocks.applications import Accepted, Submissions
from mocks.case_status import CaseStatusBoard, world_case
from mocks.criteria import criterion_value_text
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.responses import served_xml, xml_response
from mocks.world import Case, CaseStatus, Channel, Criterion, Service, World

PREFIX = "/housing"
APP_ID = "onestop"
HMAC_SECRET = b"zj-hmac-secret"
MAX_SIZE = 50
DEFAULT_SIZE = 20
CONTENT_TYPE = "application/xml"

CHANNELS = {
    Channel.WINDOW: "window",
    Channel.ONLINE: "web",
    Channel.APP: "app",
    Channel.WECHAT: "wechat",
    Channel.KIOSK: "kiosk",
}
STATUSES = {
    CaseStatus.SUBMITTED: "已提交",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.IN_REVIEW: "审核中",
    CaseStatus.NEEDS_INFO: "待补正",
    CaseStatus.APPROVED: "已批准",
    CaseStatus.REJECTED: "不予批准",
    CaseStatus.COMPLETED: "已办结",
    CaseStatus.WITHDRAWN: "已撤回",
}

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _document(root: ET.Element) -> str:
    return _XML_DECL + ET.tostring(root, encoding="unicode")


def error(code: str, message: str, status: int) -> web.Response:
    """The commission's error document."""
    root = ET.Element("error")
    ET.SubElement(root, "code").text = code
    ET.SubElement(root, "message").text = message
    return xml_response(_document(root), status)


def system_busy() -> web.Response:
    """How this system fails: HTTP 500 with its error document."""
    return error("SYS_BUSY", "系统繁忙，请稍后再试", 500)


def _leaf(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def criterion_element(criterion: Criterion) -> ET.Element:
    """`<criterion fact op value>text</criterion>`."""
    element = ET.Element(
        "criterion",
        {"fact": criterion.fact, "op": criterion.op, "value": criterion_value_text(criterion.value)},
    )
    element.text = criterion.text_zh
    return element


def service_element(service: Service) -> ET.Element:
    """One `<service code="...">`."""
    element = ET.Element("service", {"code": service.code})
    _leaf(element, "nameZh", service.name_zh)
    _leaf(element, "nameEn", service.name_en)
    _leaf(element, "description", service.description)
    _leaf(element, "category", service.category)
    channels = ET.SubElement(element, "channels")
    for channel in service.channels:
        _leaf(channels, "channel", CHANNELS[channel])
    _leaf(element, "feeFen", str(service.fee_fen))
    _leaf(element, "days", str(service.processing_days))
    documents = ET.SubElement(element, "documents")
    for document in service.documents:
        _leaf(documents, "document", document)
    _leaf(element, "updated", service.updated_at.isoformat())
    ET.SubElement(element, "criteria").extend(criterion_element(c) for c in service.criteria)
    return element


def case_element(case: Case) -> ET.Element:
    """One `<case ref="...">` with its history; an open question left empty (`<expected/>`)."""
    element = ET.Element("case", {"ref": case.ref})
    _leaf(element, "service", case.service)
    _leaf(element, "status", STATUSES[case.status])
    _leaf(element, "submitted", case.submitted_at.isoformat())
    _leaf(element, "updated", case.updated_at.isoformat())
    _leaf(element, "nextAction", case.next_action or "")
    expected = case.expected_completion
    _leaf(element, "expected", "" if expected is None else expected.isoformat())
    history = ET.SubElement(element, "history")
    for event in case.history:
        event_element = ET.SubElement(
            history, "event", {"at": event.at.isoformat(), "status": STATUSES[event.status]}
        )
        event_element.text = event.note_zh
    return element


def paged(request: web.Request, elements: Sequence[ET.Element]) -> web.Response:
    """`?page=&size=` over `elements`, the position in the root's attributes; 400 for bad numbers."""
    page = parse_bounded_int(request.query.get("page"), 1, 1, 1_000_000)
    size = parse_bounded_int(request.query.get("size"), DEFAULT_SIZE, 1, MAX_SIZE)
    if page is None or size is None:
        return error("BAD_PARAM", f"page须为正整数，size须在1到{MAX_SIZE}之间", 400)
    pages = math.ceil(len(elements) / size)
    root = ET.Element("result", {"page": str(page), "pages": str(pages), "total": str(len(elements))})
    root.extend(elements[(page - 1) * size : page * size])
    return xml_response(_document(root))


def xsd() -> str:
    """The XML Schema of every document served (results and errors)."""
    channels = "".join(f'<xs:enumeration value="{c}"/>' for c in CHANNELS.values())
    statuses = "".join(f'<xs:enumeration value="{s}"/>' for s in STATUSES.values())
    return f"""{_XML_DECL}<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    elementFormDefault="unqualified">
  <xs:annotation><xs:documentation>浦东新区建设和交通委员会（住房）服务事项与办件. Every request is signed:
    X-App-Id, X-Timestamp (unix seconds, within 300 s), X-Signature = hex(HMAC-SHA256(secret,
    METHOD\\npath\\ncanonical_query\\ntimestamp)). GET /housing/xml/services?page=&amp;size= and
    GET /housing/xml/cases?idNumber=&amp;page=&amp;size= answer a result; size 1-{MAX_SIZE}, default
    {DEFAULT_SIZE}. Criterion values: numbers in decimal, true/false, lists for "in"
    comma-separated.</xs:documentation></xs:annotation>
  <xs:simpleType name="channel"><xs:restriction base="xs:string">{channels}</xs:restriction></xs:simpleType>
  <xs:simpleType name="status"><xs:restriction base="xs:string">{statuses}</xs:restriction></xs:simpleType>
  <xs:simpleType name="optionalDate">
    <xs:union memberTypes="xs:date"><xs:simpleType><xs:restriction base="xs:string">
      <xs:length value="0"/></xs:restriction></xs:simpleType></xs:union>
  </xs:simpleType>
  <xs:complexType name="criterion">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="fact" type="xs:string" use="required"/>
      <xs:attribute name="op" type="xs:string" use="required"/>
      <xs:attribute name="value" type="xs:string" use="required"/>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="event">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="at" type="xs:dateTime" use="required"/>
      <xs:attribute name="status" type="status" use="required"/>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="service">
    <xs:sequence>
      <xs:element name="nameZh" type="xs:string"/>
      <xs:element name="nameEn" type="xs:string"/>
      <xs:element name="description" type="xs:string"/>
      <xs:element name="category" type="xs:string"/>
      <xs:element name="channels"><xs:complexType><xs:sequence>
        <xs:element name="channel" type="channel" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="feeFen" type="xs:nonNegativeInteger"/>
      <xs:element name="days" type="xs:nonNegativeInteger"/>
      <xs:element name="documents"><xs:complexType><xs:sequence>
        <xs:element name="document" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="updated" type="xs:dateTime"/>
      <xs:element name="criteria"><xs:complexType><xs:sequence>
        <xs:element name="criterion" type="criterion" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:sequence>
    <xs:attribute name="code" type="xs:string" use="required"/>
  </xs:complexType>
  <xs:complexType name="case">
    <xs:sequence>
      <xs:element name="service" type="xs:string"/>
      <xs:element name="status" type="status"/>
      <xs:element name="submitted" type="xs:dateTime"/>
      <xs:element name="updated" type="xs:dateTime"/>
      <xs:element name="nextAction" type="xs:string"/>
      <xs:element name="expected" type="optionalDate"/>
      <xs:element name="history"><xs:complexType><xs:sequence>
        <xs:element name="event" type="event" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:sequence>
    <xs:attribute name="ref" type="xs:string" use="required"/>
  </xs:complexType>
  <xs:element name="result">
    <xs:complexType>
      <xs:choice>
        <xs:element name="service" type="service" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="case" type="case" minOccurs="0" maxOccurs="unbounded"/>
      </xs:choice>
      <xs:attribute name="page" type="xs:positiveInteger" use="required"/>
      <xs:attribute name="pages" type="xs:nonNegativeInteger" use="required"/>
      <xs:attribute name="total" type="xs:nonNegativeInteger" use="required"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="application">
    <xs:annotation><xs:documentation>POST /housing/xml/applications (signed): the same requestNo
      with the same application answers the case made the first time.</xs:documentation></xs:annotation>
    <xs:complexType><xs:sequence>
      <xs:element name="requestNo" type="xs:string" minOccurs="0"/>
      <xs:element name="idNumber" type="xs:string"/>
      <xs:element name="service" type="xs:string"/>
      <xs:element name="documents" minOccurs="0"><xs:complexType><xs:sequence>
        <xs:element name="document" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="answers" minOccurs="0"><xs:complexType><xs:sequence>
        <xs:element name="answer" minOccurs="0" maxOccurs="unbounded"><xs:complexType>
          <xs:simpleContent><xs:extension base="xs:string">
            <xs:attribute name="name" type="xs:string" use="required"/>
          </xs:extension></xs:simpleContent>
        </xs:complexType></xs:element>
      </xs:sequence></xs:complexType></xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="submitted">
    <xs:complexType><xs:sequence>
      <xs:element name="case" type="case"/>
    </xs:sequence>
    <xs:attribute name="replayed" type="xs:boolean" use="required"/></xs:complexType>
  </xs:element>
  <xs:element name="error">
    <xs:complexType><xs:sequence>
      <xs:element name="code" type="xs:string"/>
      <xs:element name="message" type="xs:string"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""


def read_application(body: bytes) -> tuple[str | None, str, str, list[str], dict[str, str]] | None:
    """`<application>`'s request number (the idempotency key), ID number, service, documents and
    answers; None when the body is not such a document."""
    try:
        root = safe_fromstring(body)
    except (ET.ParseError, DefusedXmlException):  # defusedxml refuses entity tricks
        return None
    if root.tag != "application":
        return None
    documents = [d.text or "" for d in root.iterfind("documents/document")]
    answers = {a.get("name", ""): a.text or "" for a in root.iterfind("answers/answer")}
    key = root.findtext("requestNo")
    return key or None, root.findtext("idNumber", ""), root.findtext("service", ""), documents, answers


def submitted_element(case: Case, replayed: bool) -> ET.Element:
    """`<submitted replayed="...">` around the case the application became."""
    element = ET.Element("submitted", {"replayed": "true" if replayed else "false"})
    element.append(case_element(case))
    return element


def _signed(request: web.Request) -> bool:
    return auth.signed_correctly(request, APP_ID, HMAC_SECRET)


def build(world: World) -> Mounted:
    """The two signed listings and the schema."""
    services = [service_element(s) for s in world.services_of("housing")]
    schema = xsd()
    signed_only = auth.guard(_signed, lambda: error("AUTH_FAILED", "签名校验失败", 401))
    submissions = Submissions(world, "housing")
    live = CaseStatusBoard("housing", lambda ref: world_case(world, ref, "housing"), STATUSES.__getitem__)

    @signed_only
    async def list_services(request: web.Request) -> web.StreamResponse:
        return paged(request, services)

    @signed_only
    async def cases(request: web.Request) -> web.StreamResponse:
        id_number = request.query.get("idNumber", "").strip()
        if not id_number:
            return error("BAD_PARAM", "idNumber不能为空", 400)
        seeded = (c for c in world.cases_of_resident(id_number) if c.department == "housing")
        mine = [case_element(live.current(c)) for c in seeded]
        mine += [case_element(c) for c in submissions.cases_of(id_number)]
        return paged(request, mine)

    @signed_only
    async def apply(request: web.Request) -> web.StreamResponse:
        """A new application; `<requestNo>` in the body makes a repeated one answer the same case."""
        application = read_application(await request.read())
        if application is None:
            return error("BAD_PARAM", "请求体须为<application>文档", 400)
        outcome = submissions.submit(*application)
        if isinstance(outcome, Accepted):
            return xml_response(_document(submitted_element(outcome.case, outcome.replayed)))
        if outcome.conflict:
            return error("DUPLICATE_REQUEST_NO", outcome.reason, 409)
        return error("BAD_PARAM", outcome.reason, 400)

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/xml/services", list_services),
            web.get(f"{PREFIX}/xml/cases", cases),
            web.post(f"{PREFIX}/xml/applications", apply),
            web.get(f"{PREFIX}/xml/schema.xsd", served_xml(schema)),
        ],
        fail=system_busy,
        case_status=live,
    )


DEPARTMENT = Department(
    id="housing",
    name_zh="建设和交通委员会（住房）",
    name_en="Construction and Housing Commission",
    prefix=PREFIX,
    capabilities=("catalog", "cases", "applications"),
    description_path=f"{PREFIX}/xml/schema.xsd",
    build=build,
)
