"""公安分局（户籍） — the household register: a SOAP 1.1 web service behind HTTP Basic auth.

Its habits: two document/literal operations in namespace `urn:pudong:gongan` — `ListServices` (the
catalogue, criteria as `ga:Criterion` elements with `fact`/`op`/`value` attributes) and
`GetHouseholdRegistration` (exactly **one** resident per call: the register was never built for
batches); birth dates as `yyyyMMdd`, household types in Chinese (城镇/农村); every error, "no such
person" included, as a SOAP fault with HTTP 500, except authentication, answered by the web server in
front with a bare 401.
"""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element
from xml.sax.saxutils import quoteattr

from aiohttp import web

from mocks import auth
from mocks.criteria import criterion_xml
from mocks.departments import Department, Mounted
from mocks.soap import XML_DECL, SoapService, basic_refusal, soap_response, wsdl_handler
from mocks.world import Channel, Resident, Service, World, is_valid_id_number

PREFIX = "/public-security"
USERNAME = "onestop"
PASSWORD = "ga-secret"
NS = "urn:pudong:gongan"
LIST_SERVICES = "ListServices"
GET_REGISTRATION = "GetHouseholdRegistration"
OPERATIONS = (LIST_SERVICES, GET_REGISTRATION)
NOT_FOUND = "NOT_FOUND"

CHANNELS = {
    Channel.WINDOW: "COUNTER",
    Channel.ONLINE: "INTERNET",
    Channel.APP: "APP",
    Channel.WECHAT: "WECHAT",
    Channel.KIOSK: "SELF_SERVICE",
}
CATEGORIES = ("HOUSEHOLD",)
HOUSEHOLD_TYPES = {"urban": "城镇", "rural": "农村"}
GENDERS = {"M": "男", "F": "女"}

SOAP = SoapService(prefix="ga", namespace=NS)
_leaf = SOAP.leaf


def busy() -> web.Response:
    """How this system fails: a Server fault from the register's database."""
    return SOAP.fault("Server", "人口信息库连接失败，请稍后再试")


def service_xml(service: Service) -> str:
    """One `ga:Service` element."""
    channels = "".join(_leaf("Channel", CHANNELS[c]) for c in service.channels)
    documents = "".join(_leaf("Document", d) for d in service.documents)
    criteria = "".join(criterion_xml(c, "ga") for c in service.criteria)
    return (
        "<ga:Service>"
        + _leaf("Code", service.code)
        + _leaf("NameZh", service.name_zh)
        + _leaf("NameEn", service.name_en)
        + _leaf("Description", service.description)
        + _leaf("Category", service.category.upper())
        + f"<ga:Channels>{channels}</ga:Channels>"
        + _leaf("FeeFen", str(service.fee_fen))
        + _leaf("ProcessingDays", str(service.processing_days))
        + f"<ga:Documents>{documents}</ga:Documents>"
        + _leaf("UpdatedAt", service.updated_at.isoformat())
        + f"<ga:Criteria>{criteria}</ga:Criteria>"
        + "</ga:Service>"
    )


def person_xml(resident: Resident) -> str:
    """One resident as the household register records them."""
    return (
        "<ga:Person>"
        + _leaf("IdNumber", resident.id_number)
        + _leaf("Name", resident.name)
        + _leaf("BirthDate", resident.birth_date.strftime("%Y%m%d"))
        + _leaf("Gender", GENDERS[resident.gender])
        + _leaf("HukouDistrict", resident.hukou_district)
        + _leaf("HouseholdId", resident.household_id)
        + _leaf("HouseholdType", HOUSEHOLD_TYPES[resident.household_type])
        + _leaf("Address", resident.address)
        + "</ga:Person>"
    )


def _operation_of(soap_action: str | None) -> str | web.Response:
    """The operation a `SOAPAction` header names, or the fault refusing it."""
    if soap_action is None:
        return SOAP.fault("Client", "缺少SOAPAction请求头")
    namespace, _, operation = soap_action.strip().strip('"').partition("#")
    if namespace != NS or operation not in OPERATIONS:
        return SOAP.fault("Client", f"未知的SOAPAction: {soap_action}")
    return operation


def _call_element(body: bytes, operation: str) -> Element | web.Response:
    """The operation element inside a well-formed SOAP 1.1 request, or the fault refusing it."""
    call = SOAP.call_element(body)
    if isinstance(call, web.Response):
        return call
    if call.tag != f"{{{NS}}}{operation}":
        return SOAP.fault("Client", f"操作元素与SOAPAction不符: {call.tag}")
    return call


def wsdl(location: str) -> str:
    """The WSDL 1.1 description of both operations, pointing at `location`."""
    categories = "".join(f'<xs:enumeration value="{c}"/>' for c in CATEGORIES)
    channels = "".join(f'<xs:enumeration value="{c}"/>' for c in CHANNELS.values())
    household_types = "".join(f'<xs:enumeration value="{t}"/>' for t in HOUSEHOLD_TYPES.values())
    messages = "".join(
        f'<wsdl:message name="{op}Request"><wsdl:part name="parameters" element="ga:{op}"/></wsdl:message>'
        f'<wsdl:message name="{op}Response"><wsdl:part name="parameters" element="ga:{op}Response"/>'
        "</wsdl:message>"
        for op in OPERATIONS
    )
    port_operations = "".join(
        f'<wsdl:operation name="{op}"><wsdl:input message="ga:{op}Request"/>'
        f'<wsdl:output message="ga:{op}Response"/></wsdl:operation>'
        for op in OPERATIONS
    )
    bindings = "".join(
        f'<wsdl:operation name="{op}"><soap:operation soapAction="{NS}#{op}"/>'
        '<wsdl:input><soap:body use="literal"/></wsdl:input>'
        '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>'
        for op in OPERATIONS
    )
    return f"""{XML_DECL}<wsdl:definitions name="GonganHujiService" targetNamespace="{NS}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:ga="{NS}">
  <wsdl:types>
    <xs:schema targetNamespace="{NS}" elementFormDefault="qualified">
      <xs:simpleType name="Category"><xs:restriction base="xs:string">{categories}</xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="Channel"><xs:restriction base="xs:string">{channels}</xs:restriction>
      </xs:simpleType>
      <xs:simpleType name="HouseholdType">
        <xs:restriction base="xs:string">{household_types}</xs:restriction>
      </xs:simpleType>
      <xs:complexType name="Criterion">
        <xs:annotation><xs:documentation>text: the condition as residents read it; value: numbers
          in decimal, booleans true/false, lists for op "in" comma-separated</xs:documentation>
        </xs:annotation>
        <xs:simpleContent>
          <xs:extension base="xs:string">
            <xs:attribute name="fact" type="xs:string" use="required"/>
            <xs:attribute name="op" type="xs:string" use="required"/>
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
          <xs:element name="Category" type="ga:Category"/>
          <xs:element name="Channels"><xs:complexType><xs:sequence>
            <xs:element name="Channel" type="ga:Channel" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence></xs:complexType></xs:element>
          <xs:element name="FeeFen" type="xs:int"/>
          <xs:element name="ProcessingDays" type="xs:int"/>
          <xs:element name="Documents"><xs:complexType><xs:sequence>
            <xs:element name="Document" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence></xs:complexType></xs:element>
          <xs:element name="UpdatedAt" type="xs:dateTime"/>
          <xs:element name="Criteria"><xs:complexType><xs:sequence>
            <xs:element name="Criterion" type="ga:Criterion" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence></xs:complexType></xs:element>
        </xs:sequence>
      </xs:complexType>
      <xs:complexType name="Person">
        <xs:sequence>
          <xs:element name="IdNumber" type="xs:string"/>
          <xs:element name="Name" type="xs:string"/>
          <xs:element name="BirthDate">
            <xs:simpleType><xs:restriction base="xs:string"><xs:pattern value="[0-9]{{8}}"/>
            </xs:restriction></xs:simpleType>
          </xs:element>
          <xs:element name="Gender" type="xs:string"/>
          <xs:element name="HukouDistrict" type="xs:string"/>
          <xs:element name="HouseholdId" type="xs:string"/>
          <xs:element name="HouseholdType" type="ga:HouseholdType"/>
          <xs:element name="Address" type="xs:string"/>
        </xs:sequence>
      </xs:complexType>
      <xs:element name="ListServices"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
      <xs:element name="ListServicesResponse"><xs:complexType><xs:sequence>
        <xs:element name="Service" type="ga:Service" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="GetHouseholdRegistration"><xs:complexType><xs:sequence>
        <xs:element name="IdNumber" type="xs:string"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="GetHouseholdRegistrationResponse"><xs:complexType><xs:sequence>
        <xs:element name="Person" type="ga:Person"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:schema>
  </wsdl:types>
  {messages}
  <wsdl:portType name="GonganHujiPortType">{port_operations}</wsdl:portType>
  <wsdl:binding name="GonganHujiBinding" type="ga:GonganHujiPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    {bindings}
  </wsdl:binding>
  <wsdl:service name="GonganHujiService">
    <wsdl:documentation>浦东公安分局户籍信息服务 (HTTP Basic auth). One IdNumber per call; an unknown
      one is a soap:Client fault with faultstring {NOT_FOUND}.</wsdl:documentation>
    <wsdl:port name="GonganHujiPort" binding="ga:GonganHujiBinding">
      <soap:address location={quoteattr(location)}/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"""


def build(world: World) -> Mounted:
    """The SOAP endpoint (both operations) and its WSDL."""
    catalogue = SOAP.envelope(
        "<ga:ListServicesResponse>"
        + "".join(service_xml(s) for s in world.services_of("public-security"))
        + "</ga:ListServicesResponse>"
    )

    def list_services(_call: Element) -> web.Response:
        return soap_response(catalogue)

    def registration(call: Element) -> web.Response:
        asked = call.findall(f"{{{NS}}}IdNumber")
        if len(asked) > 1:
            return SOAP.fault("Client", "ONE_PERSON_PER_CALL")
        id_number = (asked[0].text or "").strip().upper() if asked else ""
        if not id_number:
            return SOAP.fault("Client", "缺少ga:IdNumber")
        if not is_valid_id_number(id_number):
            return SOAP.fault("Client", "INVALID_ID_NUMBER")
        resident = world.resident(id_number)
        if resident is None:
            return SOAP.fault("Client", NOT_FOUND)
        return soap_response(
            SOAP.envelope(
                f"<ga:{GET_REGISTRATION}Response>{person_xml(resident)}</ga:{GET_REGISTRATION}Response>"
            )
        )

    answer: dict[str, Callable[[Element], web.Response]] = {
        LIST_SERVICES: list_services,
        GET_REGISTRATION: registration,
    }

    async def call(request: web.Request) -> web.StreamResponse:
        if not auth.basic_ok(request, USERNAME, PASSWORD):
            return basic_refusal("gongan")
        operation = _operation_of(request.headers.get("SOAPAction"))
        if isinstance(operation, web.Response):
            return operation
        element = _call_element(await request.read(), operation)
        if isinstance(element, web.Response):
            return element
        return answer[operation](element)

    return Mounted(
        routes=[web.post(f"{PREFIX}/ws", call), web.get(f"{PREFIX}/ws", wsdl_handler(wsdl, f"{PREFIX}/ws"))],
        fail=busy,
    )


DEPARTMENT = Department(
    id="public-security",
    name_zh="公安分局（户籍）",
    name_en="Public Security Bureau (household registration)",
    prefix=PREFIX,
    capabilities=("catalog", "facts"),
    description_path=f"{PREFIX}/ws?wsdl",
    build=build,
)
