"""民政局 — the civil-affairs catalogue, a SOAP 1.1 web service behind HTTP Basic auth.

Its habits: one `ListServices` operation, document/literal, everything in namespace
`urn:pudong:minzheng`, money as a yuan decimal string, and every error (including bad requests) as a
SOAP fault with HTTP 500 — except authentication, which the web server in front answers with a bare 401.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from aiohttp import web

from mocks import auth
from mocks.criteria import criterion_xml
from mocks.departments import Department, Mounted
from mocks.soap import XML_DECL, SoapService, basic_refusal, soap_response, wsdl_handler
from mocks.world import OPS, Channel, Service, World

PREFIX = "/civil-affairs"
USERNAME = "onestop"
PASSWORD = "mz-secret"
NS = "urn:pudong:minzheng"
ACTION = f"{NS}#ListServices"

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


def _authorised(request: web.Request) -> bool:
    return auth.basic_ok(request, USERNAME, PASSWORD)


def _request_problem(body: bytes, soap_action: str | None) -> web.Response | None:
    """Why this request is not a valid `ListServices` call, as a fault; `None` when it is."""
    if soap_action is None:
        return SOAP.fault("Client", "缺少SOAPAction请求头")
    if soap_action.strip().strip('"') != ACTION:
        return SOAP.fault("Client", f"未知的SOAPAction: {soap_action}")
    call = SOAP.call_element(body)
    if isinstance(call, web.Response):
        return call
    if call.tag != f"{{{NS}}}ListServices":
        return SOAP.fault("Client", f"未知的操作: {call.tag}")
    return None


def wsdl(location: str) -> str:
    """The WSDL 1.1 description of the single operation, pointing at `location`."""
    categories = "".join(f'<xs:enumeration value="{c}"/>' for c in CATEGORIES)
    channels = "".join(f'<xs:enumeration value="{c}"/>' for c in CHANNELS.values())
    ops = "".join(f'<xs:enumeration value="{escape(op)}"/>' for op in OPS)
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
  <wsdl:portType name="MinzhengPortType">
    <wsdl:operation name="ListServices">
      <wsdl:input message="mz:ListServicesRequest"/>
      <wsdl:output message="mz:ListServicesResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="MinzhengBinding" type="mz:MinzhengPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="ListServices">
      <soap:operation soapAction="{ACTION}"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="MinzhengService">
    <wsdl:documentation>浦东新区民政局服务事项目录 (HTTP Basic auth)</wsdl:documentation>
    <wsdl:port name="MinzhengPort" binding="mz:MinzhengBinding">
      <soap:address location="{escape(location, {'"': "&quot;"})}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


def build(world: World) -> Mounted:
    """The SOAP endpoint and its WSDL."""
    response = SOAP.envelope(
        "<mz:ListServicesResponse>"
        + "".join(service_xml(s) for s in world.services_of("civil-affairs"))
        + "</mz:ListServicesResponse>"
    )

    async def call(request: web.Request) -> web.StreamResponse:
        if not _authorised(request):
            return basic_refusal("minzheng")
        problem = _request_problem(await request.read(), request.headers.get("SOAPAction"))
        return problem or soap_response(response)

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
    capabilities=("catalog",),
    description_path=f"{PREFIX}/soap?wsdl",
    build=build,
)
