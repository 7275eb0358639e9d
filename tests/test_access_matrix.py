"""The access matrix: one table, role x path x data, checked against the schema and then tried.

``TYPES`` names every field of every object type and says whose data it is; ``DOORS`` says, for every
root field and every ``Resident`` field (each checks its own purpose), who may pass. Both are compared
with the schema, so a new field, type or root fails here until someone decides its access; and no
public or admin root may reach a personal type. Then every door is tried by every scenario (anonymous;
the resident for themself and another resident for them; staff with no consent, with consent for the
wrong purpose, with consent; a department admin; an operator) with a query built from the schema, and
the typed outcome is asserted: the refusal code and no data, or no refusal at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)

from access.policy import STAFF_PURPOSES, Purpose
from identity.principal import Role
from identity.tokens import mint
from schema import build_schema
from tests.access_support import (
    SECRET,
    WORLD,
    ask,
    codes,
    consent,
    fixture,
    my_id,
    resident_gateway,
    resident_token,
    staff_token,
    start_session,
)
from tests.appointments_support import SERVICE, SLOTS, STATION
from tests.conftest import Gateway, GatewayFactory
from tests.live_support import connect, served

SCHEMA = build_schema()._schema
DENIALS = frozenset({"UNAUTHENTICATED", "FORBIDDEN", "CONSENT_REQUIRED"})
ALLOWED = "ALLOWED"


class Data(StrEnum):
    PUBLIC = "public"  # the catalogue, stations, departments, slots: anyone
    PERSONAL = "personal"  # a resident's: only through a door below
    ADMIN = "admin"  # connector administration: no personal data, admins only


# Every field of every object type, by whose data it is. A new type or field fails
# test_every_field_is_classified until it is added here.
TYPES: dict[str, tuple[Data, str]] = {
    "Activity": (
        Data.PUBLIC,
        "id stationId titleZh titleEn kind host startsAt endsAt places taken available status",
    ),
    "ActivitySignUp": (
        Data.PERSONAL,
        "id status waitingAhead signedUpAt promotedAt cancelledAt activity station",
    ),
    "AccessLogEntry": (
        Data.PERSONAL,
        "id at byYou actorRole station data departmentId purpose channel sessionId",
    ),
    "Appointment": (
        Data.PERSONAL,
        "id slotId stationId serviceId startsAt endsAt status bookedAt cancelledAt station service",
    ),
    "AppointmentSlot": (
        Data.PUBLIC,
        "id stationId serviceId startsAt endsAt capacity booked available station service",
    ),
    "AssistedSession": (
        Data.PERSONAL,
        "id residentId station purposes status minutes createdAt consentedAt expiresAt",
    ),
    "Bill": (Data.PERSONAL, "id account utility period amountFen dueDate paid paidAt department"),
    "Case": (
        Data.PERSONAL,
        "id reference status departmentStatus history submittedAt updatedAt nextAction expectedCompletion "
        "serviceId department service",
    ),
    "CaseEvent": (Data.PERSONAL, "at status departmentStatus note"),
    "CaseUpdate": (Data.PERSONAL, "case previousStatus changedAt source"),
    "ConnectorAuditEntry": (Data.ADMIN, "at actor role department action version outcome detail"),
    "ConnectorInfo": (Data.ADMIN, "department versions servedVersion"),
    "ConnectorProbeResult": (Data.ADMIN, "validation probe"),
    "ConnectorRegistrationResult": (Data.ADMIN, "outcome department version validation probe"),
    "ConnectorVersion": (
        Data.ADMIN,
        "department version status active registeredBy registeredAt fingerprint spec",
    ),
    "Criterion": (Data.PUBLIC, "fact op value text"),
    "CriterionEvaluation": (
        Data.PERSONAL,
        "fact op expected text result valueUsed fetchedAt reason sourceDepartment",
    ),
    "Department": (Data.PUBLIC, "id name nameEn capabilities status connectorVersion"),
    "DepartmentAccount": (Data.PERSONAL, "departmentId number kind"),
    "Eligibility": (Data.PERSONAL, "service outcome criteria missingDocuments nextStep"),
    "EligibilityNextStep": (Data.PERSONAL, "action text channel station walkMinutes"),
    "FactSource": (Data.PERSONAL, "fact departmentId fetchedAt unknown"),
    "GeoPoint": (Data.PUBLIC, "latitude longitude"),
    "OpeningPeriod": (Data.PUBLIC, "weekday opens closes"),
    "OperationProbeResult": (
        Data.ADMIN,
        "capability ok records samples problems skipped elapsedMs pages lastPageReached",
    ),
    "PageInfo": (Data.PUBLIC, "hasNextPage hasPreviousPage startCursor endCursor"),
    "ProbeResult": (Data.ADMIN, "department ok operations"),
    "Profile": (
        Data.PERSONAL,
        "name idNumberMasked birthDate age hukouDistrict householdId householdType address sources",
    ),
    "Resident": (
        Data.PERSONAL,
        "id profile eligibility cases case accounts bills accessLog accessLogVerified assistedSessions "
        "appointments payments activities",
    ),
    "Payment": (
        Data.PERSONAL,
        "id billId departmentId utility period amountFen state providerTransactionId createdAt paidAt "
        "confirmedAt",
    ),
    "Service": (
        Data.PUBLIC,
        "id name nameEn description category channels feeFen processingDays requiredDocuments updatedAt "
        "criteria department",
    ),
    "ServiceConnection": (Data.PUBLIC, "edges pageInfo totalCount"),
    "ServiceEdge": (Data.PUBLIC, "cursor node"),
    "SpecProblem": (Data.ADMIN, "line column path message expected text"),
    "SpecValidation": (Data.ADMIN, "ok department problems warnings"),
    "Station": (Data.PUBLIC, "id name town address location phone openingHours services activities"),
    "StationHit": (Data.PUBLIC, "station distanceMeters walkMinutes"),
    "VolunteerHoursReport": (Data.PUBLIC, "activity hours state reportedAt"),  # names nobody
    "_Service": (Data.PUBLIC, "sdl"),
}


class Door(StrEnum):
    PUBLIC = "public"  # no personal data: every role, no token needed
    SELF = "self"  # the signed-in resident's own data (no resident argument): residents only
    PERSONAL = "personal"  # a resident's data: the resident, or staff with consent covering the purpose
    RESIDENT = "resident"  # the resident's own consent decisions: residents only, their own sessions
    STAFF = "staff"  # station staff's own act (ask for consent, end a session): staff only
    ADMIN = "admin"  # connector administration: department admins and operators
    SLOTS = "slots"  # slot capacity: the station's staff or an operator
    HOSTS = "hosts"  # offering an activity: staff (their station) or a resident (a registered volunteer)


@dataclass(frozen=True)
class Rule:
    door: Door
    purpose: Purpose | None = None  # PERSONAL/SELF: what consent must cover (None: any, the door itself)
    names_resident: bool = False  # SELF: the path names a resident's thing (a case id), not "mine"


P = Purpose
# Who may pass each root field, and each Resident field (reached through `me` and through `resident(id)`).
DOORS: dict[str, Rule] = {
    "Query.departments": Rule(Door.PUBLIC),
    "Query.services": Rule(Door.PUBLIC),
    "Query.service": Rule(Door.PUBLIC),
    "Query.stations": Rule(Door.PUBLIC),
    "Query.appointmentSlots": Rule(Door.PUBLIC),
    "Query._entities": Rule(Door.PUBLIC),  # federation: Service, Station, Department by id
    "Query._service": Rule(Door.PUBLIC),  # federation: the SDL (introspection's rule in production)
    "Query.me": Rule(Door.SELF),
    "Query.resident": Rule(Door.PERSONAL),
    "Query.case": Rule(Door.SELF, P.CASES, names_resident=True),
    "Query.myAppointments": Rule(Door.SELF, P.APPOINTMENTS),
    "Query.connectors": Rule(Door.ADMIN),
    "Query.connector": Rule(Door.ADMIN),
    "Query.connectorDiff": Rule(Door.ADMIN),
    "Query.connectorAudit": Rule(Door.ADMIN),
    "Mutation.startAssistedSession": Rule(Door.STAFF),
    "Mutation.consentToAssistedSession": Rule(Door.RESIDENT),
    "Mutation.revokeAssistedSession": Rule(Door.RESIDENT),
    "Mutation.validateConnector": Rule(Door.ADMIN),
    "Mutation.probeConnector": Rule(Door.ADMIN),
    "Mutation.registerConnector": Rule(Door.ADMIN),
    "Mutation.rollbackConnector": Rule(Door.ADMIN),
    "Mutation.disableConnector": Rule(Door.ADMIN),
    "Mutation.enableConnector": Rule(Door.ADMIN),
    "Mutation.submitApplication": Rule(Door.PERSONAL, P.APPLICATIONS),
    "Mutation.payBill": Rule(Door.PERSONAL, P.PAYMENTS),
    "Mutation.reserveAppointment": Rule(Door.PERSONAL, P.APPOINTMENTS),
    "Mutation.cancelAppointment": Rule(Door.PERSONAL, P.APPOINTMENTS),
    "Mutation.setSlotCapacity": Rule(Door.SLOTS),
    "Mutation.createActivity": Rule(Door.HOSTS),
    "Mutation.signUpForActivity": Rule(Door.PERSONAL, P.ACTIVITIES),
    "Mutation.cancelActivitySignUp": Rule(Door.PERSONAL, P.ACTIVITIES),
    "Mutation.reportVolunteerHours": Rule(Door.STAFF),  # the station's staff confirm a session was held
    "Subscription.caseUpdated": Rule(Door.PERSONAL, P.CASES),
    "Resident.id": Rule(Door.PERSONAL),
    "Resident.profile": Rule(Door.PERSONAL, P.PROFILE),
    "Resident.eligibility": Rule(Door.PERSONAL, P.ELIGIBILITY),
    "Resident.cases": Rule(Door.PERSONAL, P.CASES),
    "Resident.case": Rule(Door.PERSONAL, P.CASES, names_resident=True),
    "Resident.accounts": Rule(Door.PERSONAL, P.BILLS),  # account numbers are bills data (issue 14)
    "Resident.bills": Rule(Door.PERSONAL, P.BILLS),
    "Resident.payments": Rule(Door.PERSONAL, P.PAYMENTS),
    "Resident.accessLog": Rule(Door.PERSONAL, P.ACCESS_LOG),
    "Resident.accessLogVerified": Rule(Door.PERSONAL, P.ACCESS_LOG),
    "Resident.assistedSessions": Rule(Door.PERSONAL, P.ACCESS_LOG),
    "Resident.appointments": Rule(Door.PERSONAL, P.APPOINTMENTS),
    "Resident.activities": Rule(Door.PERSONAL, P.ACTIVITIES),
    "Mutation.endAssistedSession": Rule(Door.STAFF),  # last: it ends the sessions the rows above use
}
ROOTS = ("Query", "Mutation", "Subscription")
SCENARIOS = (
    "anonymous",
    "resident_self",
    "resident_other",
    "staff_no_consent",
    "staff_wrong_purpose",
    "staff_consented",
    "dept_admin",
    "operator",
)


# -- the table against the schema ----------------------------------------------------------------


def object_types() -> dict[str, GraphQLObjectType]:
    return {
        name: t
        for name, t in SCHEMA.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__") and name not in ROOTS
    }


def reachable(start: GraphQLObjectType) -> set[str]:
    """Names of the object types a selection can reach from ``start`` (itself included)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        for field in current.fields.values():
            named = get_named_type(field.type)
            if isinstance(named, GraphQLObjectType):
                todo.append(named)
    return seen


def root_fields() -> Iterator[tuple[str, GraphQLField]]:
    for root in (SCHEMA.query_type, SCHEMA.mutation_type, SCHEMA.subscription_type):
        assert root is not None
        for name, field in root.fields.items():
            yield f"{root.name}.{name}", field


def test_every_field_is_classified() -> None:
    """A field, type or root field the tables do not name fails here: decide its access first."""
    unclassified = []
    for name, type_ in object_types().items():
        listed = set(TYPES[name][1].split()) if name in TYPES else set()
        unclassified += [f"{name}.{f} (in TYPES)" for f in type_.fields if f not in listed]
    unclassified += [f"{key} (in DOORS)" for key, _ in root_fields() if key not in DOORS]
    resident = object_types()["Resident"]
    unclassified += [f"Resident.{f} (in DOORS)" for f in resident.fields if f"Resident.{f}" not in DOORS]
    assert not unclassified, "decide who may see these: " + ", ".join(unclassified)
    stale = [k for k in DOORS if k.split(".")[0] in (*ROOTS, "Resident") and k not in dict(_all_doors())]
    assert not stale, f"no longer in the schema: {stale}"


def _all_doors() -> Iterator[tuple[str, GraphQLField]]:
    yield from root_fields()
    for name, field in object_types()["Resident"].fields.items():
        yield f"Resident.{name}", field


def test_personal_types_are_reached_only_through_personal_doors() -> None:
    """A public or admin root that reaches a personal type (``Service.applicants: [Resident]``) fails."""
    for key, field in root_fields():
        named = get_named_type(field.type)
        if not isinstance(named, GraphQLObjectType) or DOORS[key].door not in (Door.PUBLIC, Door.ADMIN):
            continue
        personal = {t for t in reachable(named) if TYPES[t][0] is Data.PERSONAL}
        assert not personal, f"{key} ({DOORS[key].door}) reaches personal data: {sorted(personal)}"
        if DOORS[key].door is Door.PUBLIC:
            admin = {t for t in reachable(named) if TYPES[t][0] is Data.ADMIN}
            assert not admin, f"{key} (public) reaches admin data: {sorted(admin)}"


# -- the expected outcome ------------------------------------------------------------------------


def expected(rule: Rule, scenario: str, through_me: bool = False) -> str:
    """What ``scenario`` must get at a door with ``rule``: ALLOWED or the refusal code."""
    if rule.door is Door.PUBLIC:
        return ALLOWED
    if scenario == "anonymous":
        return "UNAUTHENTICATED"
    staff = scenario.startswith("staff")
    if rule.door is Door.ADMIN:
        return ALLOWED if scenario in ("dept_admin", "operator") else "FORBIDDEN"
    if rule.door is Door.SLOTS:
        return ALLOWED if staff or scenario == "operator" else "FORBIDDEN"
    if rule.door is Door.STAFF:
        return ALLOWED if staff else "FORBIDDEN"
    if rule.door is Door.HOSTS:
        return ALLOWED if staff or scenario.startswith("resident") else "FORBIDDEN"
    if rule.door is Door.RESIDENT:
        return ALLOWED if scenario == "resident_self" else "FORBIDDEN"
    if rule.door is Door.SELF or through_me:
        if scenario == "resident_self" or (scenario == "resident_other" and not rule.names_resident):
            return ALLOWED  # `me`: the other resident reads their own data, not the first one's
        return "FORBIDDEN"
    return _personal(rule, scenario)


def _personal(rule: Rule, scenario: str) -> str:
    if scenario == "resident_self":
        return ALLOWED
    if scenario in ("resident_other", "dept_admin", "operator"):
        return "FORBIDDEN"
    if scenario == "staff_no_consent":
        return "CONSENT_REQUIRED"
    if rule.purpose is Purpose.ACCESS_LOG:
        return "FORBIDDEN"  # never staff's, consent or not
    if scenario == "staff_wrong_purpose" and rule.purpose is not None:
        return "CONSENT_REQUIRED"
    return ALLOWED


# -- the world the scenarios act in --------------------------------------------------------------

A, B = "non_pudong_hukou", "veteran"  # A's data is asked for (A has a housing case); B is the other
TARGETS = {  # arguments that name the resident acted for
    "Query.resident.id",
    "Mutation.cancelAppointment.residentId",
    "ReserveAppointmentInput.residentId",
    "SubmitApplicationInput.residentId",
    "Mutation.payBill.residentId",
    "Subscription.caseUpdated.resident",
    "Mutation.cancelActivitySignUp.residentId",
    "SignUpForActivityInput.residentId",
}


@dataclass
class World:
    gateway: Gateway
    handle: str  # A's Resident.id
    case_id: str  # one of A's cases
    pending: str  # a session A has not answered yet (consent, then revoke)
    tokens: dict[str, str | None]
    own_session: dict[str, str]  # each staff scenario's own session on A (ended last)
    wrong_staff: dict[Purpose, tuple[str, str]]  # (token, session) consented for all purposes but one
    slot: str  # a slot at the staff's station

    def token(self, scenario: str, rule: Rule) -> str | None:
        if scenario == "staff_wrong_purpose" and rule.purpose in self.wrong_staff:
            return self.wrong_staff[rule.purpose][0]
        return self.tokens[scenario]

    def values(self, scenario: str, rule: Rule) -> dict[str, Any]:
        """Argument values by ``Type.field.arg`` / ``Input.field`` for this scenario."""
        session = self.own_session.get(scenario, "no-such-session")
        if scenario == "staff_wrong_purpose" and rule.purpose in self.wrong_staff:
            session = self.wrong_staff[rule.purpose][1]
        department = "public-security"
        return {
            "__self__": self.handle,
            "Query.case.id": self.case_id,
            "Resident.case.id": self.case_id,
            "Resident.eligibility.serviceIds": ["MZ-001"],
            "Query.service.id": "MZ-001",
            "Query._entities.representations": [{"__typename": "Service", "id": "MZ-001"}],
            "Query.stations.near": {"latitude": 31.2304, "longitude": 121.5050},
            "Query.appointmentSlots.stationId": STATION,
            "Query.appointmentSlots.serviceId": SERVICE,
            "Mutation.setSlotCapacity.slotId": self.slot,
            "ReserveAppointmentInput.slotId": self.slot,
            "Query.connector.department": department,
            "Query.connectorDiff.department": department,
            "Mutation.startAssistedSession.idNumber": fixture(A).id_number,
            "Mutation.startAssistedSession.purposes": ["PROFILE"],
            "Mutation.consentToAssistedSession.id": self.pending,
            "Mutation.revokeAssistedSession.id": self.pending,
            "Mutation.endAssistedSession.id": session,
            "Mutation.validateConnector.spec": "id: x",
            "Mutation.probeConnector.spec": f"id: {department}",  # the admin's own department
            "Mutation.registerConnector.spec": f"id: {department}",
            "Mutation.rollbackConnector.department": department,
            "Mutation.disableConnector.department": department,
            "Mutation.enableConnector.department": department,
            "SubmitApplicationInput.serviceId": "NO-SUCH-SERVICE",
            "SubmitApplicationInput.idempotencyKey": f"matrix-{scenario}-0001",
            "Mutation.cancelAppointment.id": "no-such-appointment",
            "Mutation.setSlotCapacity.capacity": 5,
            "CreateActivityInput.stationId": STATION,
            "CreateActivityInput.startsAt": "2099-01-05T10:00:00+08:00",
            "CreateActivityInput.endsAt": "2099-01-05T11:00:00+08:00",
            "SignUpForActivityInput.activityId": "no-such-activity",
            "Mutation.cancelActivitySignUp.id": "no-such-sign-up",
            "Mutation.reportVolunteerHours.activityId": "no-such-activity",
        }


async def build_world(make_gateway: GatewayFactory) -> World:
    gateway = await resident_gateway(make_gateway)
    handle = await my_id(gateway, resident_token(fixture(A)))
    a = resident_token(fixture(A))
    case = next(c for c in WORLD.cases_of_resident(fixture(A).id_number) if c.department == "housing")
    tokens: dict[str, str | None] = {
        "anonymous": None,
        "resident_self": a,
        "resident_other": resident_token(fixture(B)),
        "staff_no_consent": staff_token("staff-none", STATION),
        "staff_wrong_purpose": staff_token("staff-wrong", STATION),
        "staff_consented": staff_token("staff-all", STATION),
        "dept_admin": mint(SECRET, "admin-1", Role.DEPT_ADMIN, department="public-security"),
        "operator": mint(SECRET, "operator-1", Role.OPERATOR),
    }

    async def consented(token: str, purposes: list[str]) -> str:
        session = await start_session(gateway, token, fixture(A), purposes)
        answer = await consent(gateway, a, session["id"])
        assert not answer.get("errors"), answer
        return str(session["id"])

    everything = sorted(p.value for p in STAFF_PURPOSES)
    own = {
        "staff_no_consent": str(
            (await start_session(gateway, tokens["staff_no_consent"] or "", fixture(A), ["CASES"]))["id"]
        ),
        "staff_wrong_purpose": await consented(tokens["staff_wrong_purpose"] or "", ["PROFILE"]),
        "staff_consented": await consented(tokens["staff_consented"] or "", everything),
    }
    wrong: dict[Purpose, tuple[str, str]] = {}
    for purpose in STAFF_PURPOSES:
        token = staff_token(f"staff-not-{purpose.value.lower()}", STATION)
        wrong[purpose] = (token, await consented(token, [p for p in everything if p != purpose.value]))
    pending = await start_session(gateway, staff_token("staff-pending", STATION), fixture(A), ["PROFILE"])
    slots = await ask(gateway, None, SLOTS, st=STATION, sv=SERVICE)
    slot = str(slots["data"]["appointmentSlots"][0]["id"])
    case_id = f"{case.department}:{case.ref}"
    return World(gateway, handle, case_id, str(pending["id"]), tokens, own, wrong, slot)


# -- documents built from the schema -------------------------------------------------------------


@dataclass
class Built:
    document: str
    variables: dict[str, Any]
    path: list[str]


def _value(type_: GraphQLInputType, key: str, values: dict[str, Any], target: str | None) -> Any:
    if key in values:
        return values[key]
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        return [_value(type_.of_type, key, values, target)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        built: dict[str, Any] = {}
        for name, field in type_.fields.items():
            inner = f"{type_.name}.{name}"
            if inner in TARGETS and target is not None:
                built[name] = target
            elif isinstance(field.type, GraphQLNonNull) or inner in values:
                built[name] = _value(field.type, inner, values, target)
        return built
    assert isinstance(type_, GraphQLScalarType)
    return {"Int": 1, "Float": 1.0, "Boolean": False}.get(type_.name, "x")


def _call(owner: str, name: str, field: GraphQLField, values: dict[str, Any], target: str | None) -> Built:
    """``name(arg: $owner_name_arg ...) { __typename }`` with values for required and chosen args."""
    arguments: list[str] = []
    variables: dict[str, Any] = {}
    for arg_name, arg in field.args.items():
        key = f"{owner}.{name}.{arg_name}"
        if key in TARGETS:
            if target is None and not isinstance(arg.type, GraphQLNonNull):
                continue  # the resident for themself: no resident argument
            value: Any = values["__self__"] if target is None else target
        elif (
            isinstance(arg.type, GraphQLNonNull) and arg.default_value is not Undefined and key not in values
        ):
            continue
        elif isinstance(arg.type, GraphQLNonNull) or key in values:
            value = _value(arg.type, key, values, target)
        else:
            continue
        variable = f"{owner}_{name}_{arg_name}"
        arguments.append(f"{arg_name}: ${variable}")
        variables[variable] = value
    call = name + (f"({', '.join(arguments)})" if arguments else "")
    if isinstance(get_named_type(field.type), GraphQLObjectType | GraphQLUnionType):
        call += " { __typename }"
    return Built(call, variables, [name])


def document(key: str, scenario: str, world: World, through_me: bool = False) -> Built:
    owner, name = key.split(".")
    rule = DOORS[key]
    values = world.values(scenario, rule)
    target = None if scenario == "resident_self" else world.handle
    if owner == "Resident":
        field = object_types()["Resident"].fields[name]
        inner = _call("Resident", name, field, values, target)
        if through_me:
            outer = f"me {{ {inner.document} }}"
            path = ["me", name]
        else:
            outer = f"resident(id: $target) {{ {inner.document} }}"
            inner.variables["target"] = world.handle
            path = ["resident", name]
        definitions = _definitions(inner.variables, owner="Resident", name=name)
        return Built(f"query{definitions} {{ {outer} }}", inner.variables, path)
    root = {
        "Query": SCHEMA.query_type,
        "Mutation": SCHEMA.mutation_type,
        "Subscription": SCHEMA.subscription_type,
    }
    root_type = root[owner]
    assert root_type is not None
    built = _call(owner, name, root_type.fields[name], values, target)
    operation = owner.lower()
    return Built(
        f"{operation}{_definitions(built.variables, owner, name)} {{ {built.document} }}",
        built.variables,
        built.path,
    )


def _definitions(variables: dict[str, Any], owner: str, name: str) -> str:
    """Variable definitions typed as the schema's arguments (``$target`` is resident(id)'s ``ID!``)."""
    types = {}
    parent = {
        "Query": SCHEMA.query_type,
        "Mutation": SCHEMA.mutation_type,
        "Subscription": SCHEMA.subscription_type,
    }
    field = (parent[owner] if owner in parent else object_types()[owner]).fields[name]  # type: ignore[union-attr]
    for arg_name, arg in field.args.items():
        types[f"{owner}_{name}_{arg_name}"] = str(arg.type)
    types["target"] = "ID!"
    listed = [f"${v}: {types[v]}" for v in variables]
    return f"({', '.join(listed)})" if listed else ""


# -- trying every cell ---------------------------------------------------------------------------


def verdict(body: dict[str, Any], path: list[str], read: bool) -> str:
    """ALLOWED, or the one refusal code; a refusal that still carries data at ``path`` is a leak, and
    an allowed read (not a mutation: those may refuse for their own reasons) must bring its data."""
    found = set(codes(body)) & DENIALS
    assert "INTERNAL_SERVER_ERROR" not in codes(body), body
    data: Any = body.get("data")
    for step in path:
        data = data.get(step) if isinstance(data, dict) else None
    if not found:
        return ALLOWED if data is not None or not read else f"NO DATA {codes(body)}"
    if data is not None:
        return f"LEAK {'/'.join(found)} with data"
    return "+".join(sorted(found))


def cells() -> Iterator[tuple[str, bool]]:
    """(door, through `me`) for every row: Resident fields through `me` and through `resident(id)`."""
    for key in DOORS:
        if key.startswith("Subscription."):
            continue  # over the socket: test_subscription_row
        yield key, False
        if key.startswith("Resident."):
            yield key, True


async def test_the_matrix(make_gateway: GatewayFactory) -> None:
    world = await build_world(make_gateway)
    wrong: list[str] = []
    tried = 0
    for key, through_me in cells():
        for scenario in SCENARIOS:
            rule = DOORS[key]
            built = document(key, scenario, world, through_me)
            body = await ask(world.gateway, world.token(scenario, rule), built.document, **built.variables)
            read = not key.startswith("Mutation.")
            got, want = verdict(body, built.path, read), expected(rule, scenario, through_me)
            tried += 1
            if got != want:
                path = "me." if through_me else ""
                wrong.append(
                    f"{path}{key} as {scenario}: want {want}, got {got} {codes(body)} {built.document}"
                )
    rows = len(list(cells())) + 1
    print(f"\naccess matrix: {rows} rows x {len(SCENARIOS)} scenarios, {tried} cells tried over HTTP")
    assert not wrong, "\n".join(wrong)


async def test_subscription_row(make_gateway: GatewayFactory) -> None:
    """caseUpdated over graphql-transport-ws: every refusal typed, on the first message. (Staff and
    residents who are allowed wait for a change: tests/test_case_updates_access.py tries those.)"""
    world = await build_world(make_gateway)
    rule = DOORS["Subscription.caseUpdated"]
    wrong: list[str] = []
    async with served(world.gateway.app) as url:
        for scenario in SCENARIOS:
            want = expected(rule, scenario)
            if want == ALLOWED:
                continue
            built = document("Subscription.caseUpdated", scenario, world)
            async with connect(url, world.token(scenario, rule)) as ws:
                await ws.subscribe(built.document, **built.variables)
                message = await ws.next_payload()
            errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
            got = {e["extensions"]["code"] for e in errors or []}
            if got != {want} or (message["type"] == "next" and message["payload"].get("data")):
                wrong.append(f"caseUpdated as {scenario}: want {want}, got {message}")
    assert not wrong, "\n".join(wrong)
