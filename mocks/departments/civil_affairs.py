"""民政局 — civil affairs: a SOAP 1.1 web service behind HTTP Basic auth.

Its habits: document/literal operations told apart by `SOAPAction`, everything in namespace
`urn:pudong:minzheng`, money as a yuan decimal string, and every error (including bad requests) as a
SOAP fault with HTTP 500 — except authentication, which the web server in front answers with a bare 401.
Three operations: `ListServices` (the catalogue), `QueryMinimumAllowance` (低保 status of up to 100
residents in one call, each `mz:IdNumber` repeated; residents it does not know are absent) and
`ListCases` (one resident's cases, statuses as the bureau's own English codes, `PENDING` ... `REVOKED`).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from aiohttp import web

from mocks import auth
from mocks.criteria import criterion_xml
from mocks.departments import Department, Mounted
from mocks.soap import XML_DECL, SoapService, basic_refusal, soap_response, wsdl_handler
from mocks.world import OPS, Case, CaseStatus, Channel, Resident, Service, World, is_valid_id_number

PREFIX = "/civil-affairs"
USERNAME = "onestop"
PASSWORD = "mz-secret"
NS = "urn:pudong:minzheng"
LIST_SERVICES = "ListServices"
QUERY_ALLOWANCE = "QueryMinimumAllowance"
LIST_CASES = "ListCases"
OPERATIONS = (LIST_SERVICES, QUERY_ALLOWANCE, LIST_CASES)
ACTION = f"{NS}#{LIST_SERVICES}"
MAX_BATCH = 100
#: 低保 as the bureau's register words it.
ALLOWANCE = {True: "在保", False: "未享受"}
#: The register was last reconciled on the reference day's morning.
CHECKED_AT = "2026-11-25T06:00:00+08:00"
STATUSES = {
    CaseStatus.SUBMITTED: "PENDING",
    CaseStatus.ACCEPTED: "REGISTERED",
    CaseStatus.IN_REVIEW: "INVESTIGATING",
    CaseStatus.NEEDS_INFO: "SUPPLEMENT",
    CaseStatus.APPROVED: "GRANTED",
    CaseStatus.REJECTED: "DENIED",
    CaseStatus.COMPLETED: "CLOSED",
    CaseStatus.WITHDRAWN: "REVOKED",
}

CHANNELS = {
    Channel.WINDOW: "WINDOW",
    Channel.ONLINE: "ONLINE",
    Channel.APP: "APP",
    Channel.WECHAT: "WECHAT",
    Channel.KIOSK: "KIOSK",
}
CATEGORIES = ("SUBSIDY", "MARRIAGE", "SENIOR_CARE", "SOCIAL_ASSISTANCE")

SOAP = SoapService(prefix="mz", namespace=NS)


def busy() -> web.Response:
    """How this system fails under load: a Server fault."""
    return SOAP.fault("Server", "系统繁忙，请稍后再试")


def fee_yuan(fen: int) -> str:
    """Fen as the yuan decimal string the service uses, e.g. 2500 -> "25.00"."""
    return f"{fen // 100}.{fen % 100:02d}"


def service_xml(service: Service) -> str:
    """One `mz:Service` element."""
    leaf = SOAP.leaf
    channels = "".join(leaf("Channel", CHANNELS[c]) for c in service.channels)
    documents = "".join(leaf("Document", d) for d in service.documents)
    criteria = "".join(criterion_xml(c, "mz") for c in service.criteria)
    return (
        "<mz:Service>"
        + leaf("Code", service.code)
        + leaf("NameZh", service.name_zh)
        + leaf("NameEn", service.name_en)
        + leaf("Description", service.description)
        + leaf("Category", service.category)
        + f"<mz:Channels>{channels}</mz:Channels>"
        + leaf("FeeYuan", fee_yuan(service.fee_fen))
        + leaf("ProcessingDays", str(service.processing_days))
        + f"<mz:Documents>{documents}</mz:Documents>"
        + leaf("UpdatedAt", service.updated_at.isoformat())
        + f"<mz:Criteria>{criteria}</mz:Criteria>"
        + "</mz:Service>"
    )


def person_xml(resident: Resident) -> str:
    """One resident's 低保 status."""
    leaf = SOAP.leaf
    return (
        "<mz:Person>"
        + leaf("IdNumber", resident.id_number)
        + leaf("DibaoStatus", ALLOWANCE[resident.minimum_allowance])
        + leaf("CheckedAt", CHECKED_AT)
        + "</mz:Person>"
    )


def case_xml(case: Case) -> str:
    """One case with its history; optional elements are left out rather than sent empty."""
    leaf = SOAP.leaf
    events = "".join(
        "<mz:Event>"
        + leaf("At", e.at.isoformat())
        + leaf("Status", STATUSES[e.status])
        + leaf("Remark", e.note_zh)
        + "</mz:Event>"
        for e in case.history
    )
    return (
        "<mz:Case>"
        + leaf("CaseNo", case.ref)
        + leaf("ServiceCode", case.service)
        + leaf("Status", STATUSES[case.status])
        + leaf("SubmittedAt", case.submitted_at.isoformat())
        + leaf("UpdatedAt", case.updated_at.isoformat())
        + ("" if case.next_action is None else leaf("NextAction", case.next_action))
        + (
            ""
            if case.expected_completion is None
            else leaf("ExpectedDate", case.expected_completion.isoformat())
        )
        + f"<mz:History>{events}</mz:History>"
        + "</mz:Case>"
    )


def _authorised(request: web.Request) -> bool:
    return auth.basic_ok(request, USERNAME, PASSWORD)


def _call_of(body: bytes, soap_action: str | None) -> tuple[str, Element] | web.Response:
    """The operation a request calls and its element, or the fault refusing it."""
    if soap_action is None:
        return SOAP.fault("Client", "缺少SOAPAction请求头")
    namespace, _, operation = soap_action.strip().strip('"').partition("#")
    if namespace != NS or operation not in OPERATIONS:
        return SOAP.fault("Client", f"未知的SOAPAction: {soap_action}")
    call = SOAP.call_element(body)
    if isinstance(call, web.Response):
        return call
    if call.tag != f"{{{NS}}}{operation}":
        return SOAP.fault("Client", f"未知的操作: {call.tag}")
    return operation, call


def _id_numbers(call: Element) -> list[str] | web.Response:
    """The `mz:IdNumber` children of a call, each checked, or the fault refusing them."""
    ids = [(e.text or "").strip().upper() for e in call.findall(f"{{{NS}}}IdNumber")]
    if not ids:
        return SOAP.fault("Client", "缺少mz:IdNumber")
    if not all(is_valid_id_number(i) for i in ids):
        return SOAP.fault("Client", "INVALID_ID_NUMBER")
    return ids


def wsdl(location: str) -> str:
    """The WSDL 1.1 description of the single operation, pointing at `location`."""
    categories = "".join(f'<xs:enumeration value="{c}"/>' for c in CATEGORIES)
    channels = "".join(f'<xs:enumeration value="{c}"/>' for c in CHANNELS.values())
    ops = "".join(f'<xs:enumeration value="{escape(op)}"/>' for op in OPS)
    allowance = "".join(f'<xs:enumeration value="{w}"/>' for w in ALLOWANCE.values())
    statuses = "".join(f'<xs:enumeration value="{w}"/>' for w in STATUSES.values())
    more = (QUERY_ALLOWANCE, LIST_CASES)
    messages = "".join(
        f'  <wsdl:message name="{op}Request"><wsdl:part name="parameters" element="mz:{op}"/>'
        "</wsdl:message>\n"
        f'  <wsdl:message name="{op}Response"><wsdl:part name="parameters" element="mz:{op}Response"/>'
        "</wsdl:message>\n"
        for op in more
    )
    port_operations = "".join(
        f'    <wsdl:operation name="{op}"><wsdl:input message="mz:{op}Request"/>'
        f'<wsdl:output message="mz:{op}Response"/></wsdl:operation>\n'
        for op in more
    )
    binding_operations = "".join(
        f'    <wsdl:operation name="{op}"><soap:operation soapAction="{NS}#{op}"/>'
        '<wsdl:input><soap:body use="literal"/></wsdl:input>'
        '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>\n'
        for op in more
    )
    return f"""{XML_DECL}<wsdl:definitions name="MinzhengService" targetNamespace="{NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:mz="{NS}">
  <wsdl:types>
    <xs:schema targetNamespace="{NS}" elementFormDefault="qualified">
      <xs:simpleType name="Category">
        <xs:restriction base="xs:string">{categories}</xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="Channel">
        <xs:restriction base="xs:string">{channels}</xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="Op">
        <xs:restriction base="xs:string">{ops}</xs:restriction>
      </xs:simpleType>
      <xs:complexType name="Criterion">
        <xs:annotation><xs:documentation>One eligibility condition, fact op value (lists
          comma-separated, booleans true/false); the content is its wording.
        </xs:documentation></xs:annotation>
        <xs:simpleContent>
          <xs:extension base="xs:string">
            <xs:attribute name="fact" type="xs:string" use="required"/>
            <xs:attribute name="op" type="mz:Op" use="required"/>
            <xs:attribute name="value" type="xs:string" use="required"/>
          </xs:extension>
        </xs:simpleContent>
      </xs:complexType>
      <xs:complexType name="Service">
        <xs:sequence>
          <xs:element name="Code" type="xs:string"/>
          <xs:element name="NameZh" type="xs:string"/>
          <xs:element name="NameEn" type="xs:string"/>
          <xs:element name="Description" type="xs:string"/>
          <xs:element name="Category" type="mz:Category"/>
          <xs:element name="Channels">
            <xs:complexType><xs:sequence>
              <xs:element name="Channel" type="mz:Channel" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence></xs:complexType>
          </xs:element>
          <xs:element name="FeeYuan" type="xs:decimal"/>
          <xs:element name="ProcessingDays" type="xs:int"/>
          <xs:element name="Documents">
            <xs:complexType><xs:sequence>
              <xs:element name="Document" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence></xs:complexType>
          </xs:element>
          <xs:element name="UpdatedAt" type="xs:dateTime"/>
          <xs:element name="Criteria">
            <xs:complexType><xs:sequence>
              <xs:element name="Criterion" type="mz:Criterion" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence></xs:complexType>
          </xs:element>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="Person">
        <xs:sequence>
          <xs:element name="IdNumber" type="xs:string"/>
          <xs:element name="DibaoStatus" type="mz:DibaoStatus"/>
          <xs:element name="CheckedAt" type="xs:dateTime"/>
        </xs:sequence>
      </xs:complexType>
      <xs:simpleType name="DibaoStatus">
        <xs:restriction base="xs:string">{allowance}</xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="CaseStatus">
        <xs:restriction base="xs:string">{statuses}</xs:restriction>
      </xs:simpleType>
      <xs:complexType name="Event">
        <xs:sequence>
          <xs:element name="At" type="xs:dateTime"/>
          <xs:element name="Status" type="mz:CaseStatus"/>
          <xs:element name="Remark" type="xs:string"/>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="Case">
        <xs:sequence>
          <xs:element name="CaseNo" type="xs:string"/>
          <xs:element name="ServiceCode" type="xs:string"/>
          <xs:element name="Status" type="mz:CaseStatus"/>
          <xs:element name="SubmittedAt" type="xs:dateTime"/>
          <xs:element name="UpdatedAt" type="xs:dateTime"/>
          <xs:element name="NextAction" type="xs:string" minOccurs="0"/>
          <xs:element name="ExpectedDate" type="xs:date" minOccurs="0"/>
          <xs:element name="History">
            <xs:complexType><xs:sequence>
              <xs:element name="Event" type="mz:Event" minOccurs="0" maxOccurs="unbounded"/>
            </xs:sequence></xs:complexType>
          </xs:element>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="QueryMinimumAllowance">
        <xs:complexType><xs:sequence>
          <xs:element name="IdNumber" type="xs:string" minOccurs="1" maxOccurs="{MAX_BATCH}"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="QueryMinimumAllowanceResponse">
        <xs:annotation>
          <xs:documentation>Residents the register does not know are absent.</xs:documentation>
        </xs:annotation>
        <xs:complexType><xs:sequence>
          <xs:element name="Person" type="mz:Person" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="ListCases">
        <xs:complexType><xs:sequence>
          <xs:element name="IdNumber" type="xs:string"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="ListCasesResponse">
        <xs:complexType><xs:sequence>
          <xs:element name="Case" type="mz:Case" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="ListServices"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
      <xs:element name="ListServicesResponse">
        <xs:complexType><xs:sequence>
          <xs:element name="Service" type="mz:Service" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="ListServicesRequest">
    <wsdl:part name="parameters" element="mz:ListServices"/>
  </wsdl:message>
  <wsdl:message name="ListServicesResponse">
    <wsdl:part name="parameters" element="mz:ListServicesResponse"/>
  </wsdl:message>
{messages}  <wsdl:portType name="MinzhengPortType">
    <wsdl:operation name="ListServices">
      <wsdl:input message="mz:ListServicesRequest"/>
      <wsdl:output message="mz:ListServicesResponse"/>
    </wsdl:operation>
{port_operations}  </wsdl:portType>
  <wsdl:binding name="MinzhengBinding" type="mz:MinzhengPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="ListServices">
      <soap:operation soapAction="{ACTION}"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
{binding_operations}  </wsdl:binding>
  <wsdl:service name="MinzhengService">
    <wsdl:documentation>浦东新区民政局服务事项目录 (HTTP Basic auth)</wsdl:documentation>
    <wsdl:port name="MinzhengPort" binding="mz:MinzhengBinding">
      <soap:address location="{escape(location, {'"': "&quot;"})}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


def build(world: World) -> Mounted:
    """The SOAP endpoint (three operations) and its WSDL."""
    catalogue = SOAP.envelope(
        "<mz:ListServicesResponse>"
        + "".join(service_xml(s) for s in world.services_of("civil-affairs"))
        + "</mz:ListServicesResponse>"
    )
    cases: dict[str, list[str]] = {}
    for case in world.cases_of("civil-affairs"):
        cases.setdefault(case.resident, []).append(case_xml(case))

    def answer(operation: str, content: str) -> web.Response:
        return soap_response(SOAP.envelope(f"<mz:{operation}Response>{content}</mz:{operation}Response>"))

    def allowance(call: Element) -> web.Response:
        ids = _id_numbers(call)
        if isinstance(ids, web.Response):
            return ids
        if len(ids) > MAX_BATCH:
            return SOAP.fault("Client", f"每次最多查询{MAX_BATCH}人")
        known = [r for r in (world.resident(i) for i in dict.fromkeys(ids)) if r is not None]
        return answer(QUERY_ALLOWANCE, "".join(person_xml(r) for r in known))

    def list_cases(call: Element) -> web.Response:
        ids = _id_numbers(call)
        if isinstance(ids, web.Response):
            return ids
        if len(ids) > 1:
            return SOAP.fault("Client", "ONE_PERSON_PER_CALL")
        return answer(LIST_CASES, "".join(cases.get(ids[0], ())))

    async def call(request: web.Request) -> web.StreamResponse:
        if not _authorised(request):
            return basic_refusal("minzheng")
        found = _call_of(await request.read(), request.headers.get("SOAPAction"))
        if isinstance(found, web.Response):
            return found
        operation, element = found
        if operation == QUERY_ALLOWANCE:
            return allowance(element)
        if operation == LIST_CASES:
            return list_cases(element)
        return soap_response(catalogue)

    return Mounted(
        routes=[
            web.post(f"{PREFIX}/soap", call),
            web.get(f"{PREFIX}/soap", wsdl_handler(wsdl, f"{PREFIX}/soap")),
        ],
        fail=busy,
    )


DEPARTMENT = Department(
    id="civil-affairs",
    name_zh="民政局",
    name_en="Civil Affairs Bureau",
    prefix=PREFIX,
    capabilities=("catalog", "facts", "cases"),
    description_path=f"{PREFIX}/soap?wsdl",
    build=build,
)
