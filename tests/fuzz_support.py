"""What the fuzz suites share: tokens for every role, hostile values for every argument, generated
documents over the whole schema (subscriptions too), and a checker that counts outcomes and collects
failures instead of stopping at the first, so one run lists every failing document.

Hostile values go in two ways, as a client would send them: inline literals (graphql-core's printer
escapes control characters as ``\\u0000``) and, for some documents, hoisted into variables (JSON
escapes; lone surrogates only there, since a GraphQL document cannot carry them but a JSON string can).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC
from functools import cache
from typing import Any
from urllib.parse import urlencode

import httpx
from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    IntValueNode,
    NameNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    parse,
    parse_type,
    print_ast,
    visit,
)
from graphql import GraphQLSchema as Schema
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, queries

from identity.principal import ClientChannel, Role
from identity.tokens import mint
from tests.access_support import WORLD

# -- roles ---------------------------------------------------------------------------------------

ROLES = ("anonymous", "resident", "staff", "dept_admin", "operator", "planner")


def role_tokens(secret: str) -> dict[str, str | None]:
    """One bearer token per role (None: no Authorization header)."""
    return {
        "anonymous": None,
        "resident": mint(secret, WORLD.residents[0].id_number, Role.RESIDENT, channel=ClientChannel.APP),
        "staff": mint(secret, "staff-1", Role.STAFF, channel=ClientChannel.COUNTER, station="ST-0001"),
        "dept_admin": mint(secret, "admin-1", Role.DEPT_ADMIN, department="public-security"),
        "operator": mint(secret, "operator-1", Role.OPERATOR),
        "planner": mint(secret, "planner-1", Role.PLANNER),
    }


# -- hostile values ------------------------------------------------------------------------------

MAX_INT = 2**31 - 1
BOUNDARY_INTS = (-1, 0, 1, -(2**31), MAX_INT, 100, 101, 200, 201, 240, 241, 500, 501, 10**6, -(10**6))
CONTROL = "".join(chr(c) for c in range(0x20)) + "\x7f"
HOSTILE_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "MZ-001\x00",
    CONTROL,
    "\t\r\n",
    "\x1b[31m",
    "x" * 10_000,
    "é" * 3_000,
    "漢" * 3_000,
    "\u202eRTL",
    "\u200b\ufeff",
    "😀👩‍👩‍👧",
    "\uffff\ufffe",
    "e\u0301\u0301\u0301",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%00%ff",
    "${ONESTOP_JWT_SECRET}",
    "{{7*7}}",
    '"\\',
    "R1.",
    "MZ-001",
    "GH-001",
    "ST-0001",
    "public-security",
    "hrss:CASE-1",
    WORLD.residents[1].id_number,
    "2026-13-45",
    "-1",
)
LONE_SURROGATES = ("\ud800", "a\udfffb", "\udc00\ud800")  # JSON escapes allow them; UTF-8 does not


def hostile_text(alphabet_size: int = 40) -> st.SearchStrategy[str]:
    """A fixed hostile string, or generated text rich in control characters and odd unicode."""
    odd = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=["Cs"])
    controls = st.sampled_from(CONTROL)
    return st.one_of(
        st.sampled_from(HOSTILE_STRINGS),
        st.text(st.one_of(controls, odd), max_size=alphabet_size),
    )


# -- documents -----------------------------------------------------------------------------------


def _scalars() -> dict[str, st.SearchStrategy[ValueNode]]:
    def node(text: str) -> StringValueNode:
        return StringValueNode(value=text)

    return {
        "DateTime": st.one_of(
            st.datetimes(timezones=st.just(UTC)).map(lambda d: node(d.isoformat())),
            st.text(max_size=30).map(node),
        ),
        "Date": st.one_of(st.dates().map(lambda d: node(d.isoformat())), st.text(max_size=20).map(node)),
        "JSON": st.text(max_size=50).map(node),
        # federation: a router's entity references, well-formed or not
        "_Any": st.one_of(
            st.builds(
                lambda typename, id_: ObjectValueNode(
                    fields=(
                        ObjectFieldNode(name=NameNode(value="__typename"), value=node(typename)),
                        ObjectFieldNode(name=NameNode(value="id"), value=node(id_)),
                    )
                ),
                st.sampled_from(("Service", "Station", "Department", "Resident", "Case", "")),
                st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=20)),
            ),
            st.text(max_size=20).map(node),
        ),
        # directive-only scalars (@key, @link): no field takes them, listed so the coverage check holds
        "_FieldSet": st.text(max_size=20).map(node),
        "link__Import": st.text(max_size=20).map(node),
    }


SCALARS = _scalars()


def _as_subscriptions(schema: GraphQLSchema) -> GraphQLSchema:
    """The Subscription type as a query root, so hypothesis-graphql (queries and mutations only)
    generates its selections; ``_subscription`` then prints them as ``subscription { ... }``."""
    assert schema.subscription_type is not None
    return Schema(query=schema.subscription_type, types=list(schema.type_map.values()))


def _operation(kind: OperationType) -> Callable[[DocumentNode], DocumentNode]:
    def relabel(document: DocumentNode) -> DocumentNode:
        [operation] = document.definitions
        assert isinstance(operation, OperationDefinitionNode)
        return replace(document, definitions=(replace(operation, operation=kind),))

    return relabel


PERSONAL_ROOTS = ("me", "resident", "case", "myAppointments")
PUBLIC_ROOTS = ("services", "service", "stations", "departments", "appointmentSlots")


@cache
def documents(schema: GraphQLSchema) -> st.SearchStrategy[DocumentNode]:
    """Queries, mutations and subscriptions over every root field, valid and (some) invalid.

    One root field at a time as well as many: a refused non-null root field (``me`` without a token)
    nulls the whole response, which would hide how every other field answers.
    """
    assert schema.query_type and schema.mutation_type and schema.subscription_type
    keep = dict(custom_scalars=SCALARS, print_ast=lambda d: d)
    subscriptions = _as_subscriptions(schema)
    relabel = _operation(OperationType.SUBSCRIPTION)
    # a personal root beside a public one: one field's refusal must not break the other's answer
    pairs = [(a, b) for a in PERSONAL_ROOTS for b in PUBLIC_ROOTS]
    return st.one_of(
        queries(schema, **keep),  # type: ignore[call-overload]
        st.sampled_from(pairs).flatmap(lambda pair: queries(schema, fields=pair, **keep)),  # type: ignore[call-overload]
        *(queries(schema, fields=[n], **keep) for n in schema.query_type.fields),  # type: ignore[call-overload]
        queries(schema, mode=Mode.NEGATIVE, **keep),  # type: ignore[call-overload]
        *(mutations(schema, fields=[n], **keep) for n in schema.mutation_type.fields),  # type: ignore[call-overload]
        mutations(schema, mode=Mode.NEGATIVE, **keep),  # type: ignore[call-overload]
        queries(subscriptions, **keep).map(relabel),  # type: ignore[call-overload]
    )


@dataclass
class Request:
    """One generated request: its document, variables, and how it travels."""

    document: str
    variables: dict[str, Any]
    method: str
    role: str

    def short(self, limit: int = 240) -> str:
        text = " ".join(self.document.split())
        text = text if len(text) <= limit else text[:limit] + "..."
        if self.variables:
            shown = json.dumps(self.variables, ensure_ascii=True)
            text += f"  variables={shown[:120]}{'...' if len(shown) > 120 else ''}"
        return text


class _Hostile(Visitor):
    """Swaps argument literals for boundary values; with ``hoist``, moves them into variables."""

    def __init__(self, draw: st.DrawFn, type_info: TypeInfo, hoist: bool) -> None:
        super().__init__()
        self.draw = draw
        self.type_info = type_info
        self.hoist = hoist
        self.variables: dict[str, Any] = {}
        self.definitions: list[VariableDefinitionNode] = []

    def enter_variable_definition(self, *_: Any) -> Any:
        return False  # leave default values alone

    def enter_int_value(self, node: IntValueNode, *_: Any) -> Any:
        if self.draw(st.booleans()):
            return self._replace(self.draw(st.sampled_from(BOUNDARY_INTS)), node)
        return self._replace(int(node.value), node) if self.hoist else None

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        value = self.draw(hostile_text()) if self.draw(st.booleans()) else node.value
        # only into a variable: inside a scalar's object literal (_Any) there is no type to hoist it as
        hoistable = self.hoist and self.type_info.get_input_type() is not None
        if hoistable and self.draw(st.integers(0, 9)) == 0:
            value = self.draw(st.sampled_from(LONE_SURROGATES))
        if not self.hoist and value == node.value:
            return None
        return self._replace(value, node)

    def _replace(self, value: int | str, node: ValueNode) -> ValueNode:
        input_type = self.type_info.get_input_type()
        if not self.hoist or input_type is None:
            return IntValueNode(value=str(value)) if isinstance(value, int) else StringValueNode(value=value)
        name = f"v{len(self.variables)}"
        self.variables[name] = value
        self.definitions.append(
            VariableDefinitionNode(
                variable=VariableNode(name=NameNode(value=name)), type=parse_type(str(input_type))
            )
        )
        return VariableNode(name=NameNode(value=name))


def _only_arguments(document: DocumentNode) -> bool:
    """Whether every literal sits in a field argument (no directives): true for generated documents."""
    found = False

    class Find(Visitor):
        def enter_directive(self, *_: Any) -> Any:
            nonlocal found
            found = True
            return BREAK

    visit(document, Find())
    return not found


@st.composite
def requests(draw: st.DrawFn, schema: GraphQLSchema) -> Request:
    """A generated document with hostile values, a role and a method (GET for every kind: a mutation or
    subscription over GET must be refused with a typed error as well)."""
    document = draw(documents(schema))
    hoist = draw(st.booleans()) and _only_arguments(document)
    type_info = TypeInfo(schema)
    hostile = _Hostile(draw, type_info, hoist)
    changed = visit(document, TypeInfoVisitor(type_info, hostile))
    if hostile.definitions:
        [operation] = changed.definitions
        assert isinstance(operation, OperationDefinitionNode)
        changed = replace(
            changed, definitions=(replace(operation, variable_definitions=tuple(hostile.definitions)),)
        )
    method = draw(st.sampled_from(["POST", "POST", "GET"]))
    role = draw(st.sampled_from((*ROLES, "resident")))  # twice: residents get furthest into the schema
    return Request(print_ast(changed), hostile.variables, method, role)


# -- checking ------------------------------------------------------------------------------------

ALLOWED_STATUSES = frozenset({200, 400, 401, 405, 406, 413, 415, 429})
LEAKS = ("Traceback", 'File "', "INTERNAL_SERVER_ERROR")


@dataclass
class Failure:
    where: str  # e.g. "sqlite/development seed 2 staff POST"
    request: str
    status: int
    code: str
    fields: str  # the operation and its root fields, e.g. "mutation enableConnector"

    def line(self) -> str:
        return f"[{self.where}] {self.status} {self.code}: {self.request}"


def root_fields(document: str) -> str:
    """``subscription caseUpdated``: what a failure class is named by (the document may not parse)."""
    try:
        [operation, *_] = parse(document).definitions
    except (GraphQLError, ValueError):
        return "(unparsable)"
    if not isinstance(operation, OperationDefinitionNode):
        return "(fragment)"
    names = sorted({s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)})
    return f"{operation.operation.value} {' '.join(names)}"


@dataclass
class Outcomes:
    """Counts of outcomes (``DATA`` or the first error code) and every failing request."""

    seen: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.seen.total()

    def record(self, where: str, request: str, response: httpx.Response, document: str = "") -> None:
        problem = problem_of(response)
        if problem is None:
            self.seen[outcome_of(response)] += 1
            return
        self.seen["FAILED"] += 1
        self.failures.append(Failure(where, request, response.status_code, problem, root_fields(document)))

    def report(self, examples: int = 2) -> str:
        """The failures by class (status, code, root fields), with a few example requests each: the
        compact list to act on."""
        classes: dict[tuple[int, str, str], list[Failure]] = {}
        for failure in self.failures:
            classes.setdefault((failure.status, failure.code, failure.fields), []).append(failure)
        lines = [f"{len(self.failures)} failing requests in {len(classes)} classes:"]
        for (status, code, fields), members in sorted(classes.items(), key=lambda c: -len(c[1])):
            lines.append(f"  {len(members)} x {status} {code} at {fields}, e.g.")
            lines += [f"      {m.line()}" for m in members[:examples]]
        return "\n".join(lines)


def problem_of(response: httpx.Response) -> str | None:
    """None for a well-formed, typed answer; else what is wrong with it (a short class name)."""
    if response.status_code >= 500 or response.status_code not in ALLOWED_STATUSES:
        return f"HTTP {response.status_code} {response.text[:80]!r}"
    for leak in LEAKS:
        if leak in response.text:
            return _first_internal(response) or f"leak {leak!r}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON {response.text[:80]!r}"
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        return f"not a GraphQL response {response.text[:80]!r}"
    for error in body.get("errors") or []:
        if not isinstance(error.get("message"), str) or not (error.get("extensions") or {}).get("code"):
            return f"untyped error {json.dumps(error)[:120]}"
    return None


def _first_internal(response: httpx.Response) -> str | None:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return None
    for error in errors:
        if (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR":
            return "INTERNAL_SERVER_ERROR"
    return None


def outcome_of(response: httpx.Response) -> str:
    body = response.json()
    if body.get("data") or not body.get("errors"):
        return "DATA"  # `{"data": {}}` is a fine answer to a document whose fields are all skipped
    return str(body["errors"][0]["extensions"]["code"])


MAX_URL = 60_000


def send(client: httpx.Client, request: Request, token: str | None) -> httpx.Response:
    """Over GET as query parameters, or POST as JSON with ASCII escapes (so lone surrogates travel)."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if request.method == "GET":
        params = {"query": request.document}
        if request.variables:
            params["variables"] = json.dumps(request.variables, ensure_ascii=True)
        if len(urlencode(params)) < MAX_URL:  # longer ones go as POST, as clients do (httpx refuses them)
            return client.get("/graphql", params=params, headers=headers)
    body = json.dumps({"query": request.document, "variables": request.variables}, ensure_ascii=True)
    return client.post("/graphql", content=body, headers={**headers, "content-type": "application/json"})


# -- the boundary sweep: every argument, every edge, deterministically ---------------------------

INT_EDGES = (-1, 0, MAX_INT, -(2**31))
FLOAT_EDGES = (-1e308, 0.0, -90.0001, 180.0001)
STRING_EDGES = ("", "\x00", CONTROL, "x" * 10_000, "\ud800", "é漢😀\u202e\u200b")
PLAIN = {
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "Date": "2026-12-07",
    "DateTime": "2026-12-07T10:00:00+08:00",
}
LONG_LIST = 1_000


def plain(type_: GraphQLInputType) -> Any:
    """An ordinary value of ``type_`` (the arguments not under test)."""
    type_ = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(type_, GraphQLList):
        return [plain(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {n: plain(f.type) for n, f in type_.fields.items() if isinstance(f.type, GraphQLNonNull)}
    assert isinstance(type_, GraphQLScalarType)
    return PLAIN.get(type_.name, "x")


def edges(type_: GraphQLInputType) -> list[Any]:
    """Boundary values of ``type_``: per scalar, lists empty and long, each field of an input object."""
    type_ = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(type_, GraphQLList):
        return [[], [plain(type_.of_type)] * LONG_LIST, *([v] for v in edges(type_.of_type))]
    if isinstance(type_, GraphQLEnumType):
        return ["NOT_A_VALUE"]
    if isinstance(type_, GraphQLInputObjectType):
        base = plain(type_)
        return [{**base, n: v} for n, f in type_.fields.items() for v in edges(f.type)]
    assert isinstance(type_, GraphQLScalarType)
    return list({"Int": INT_EDGES, "Float": FLOAT_EDGES, "Boolean": ()}.get(type_.name, STRING_EDGES))


def sweep(schema: GraphQLSchema, role_of: Callable[[str], str]) -> list[Request]:
    """For every argument of every field that takes one (roots, and ``Resident`` through ``me``), each
    boundary value in turn, the other arguments ordinary; queries carry ``services`` (and ``me`` its
    eligibility) beside them, so a refused argument must not break a sibling field. ``role_of(door)``
    (``"Query.me"``, ``"Mutation.x"``) names the role that sends it."""
    requests_: list[Request] = []
    resident = schema.type_map["Resident"]
    assert isinstance(resident, GraphQLObjectType)
    owners = [(t, t.name) for t in (schema.query_type, schema.mutation_type, schema.subscription_type) if t]
    for owner, label in [*owners, (resident, "Resident")]:
        for name, taking in owner.fields.items():
            for arg_name, arg in taking.args.items():
                for value in edges(arg.type):
                    requests_.append(_swept(label, name, taking, arg_name, value, role_of))
    return requests_


def _swept(
    owner: str,
    name: str,
    field: GraphQLField,
    tested: str,
    value: Any,
    role_of: Callable[[str], str],
) -> Request:
    variables = {a: value if a == tested else plain(arg.type) for a, arg in field.args.items()}
    variables = {
        a: v for a, v in variables.items() if a == tested or isinstance(field.args[a].type, GraphQLNonNull)
    }
    definitions = ", ".join(f"${a}: {field.args[a].type}" for a in variables)
    call = f"{name}({', '.join(f'{a}: ${a}' for a in variables)})"
    if isinstance(get_named_type(field.type), GraphQLObjectType):
        call += " { __typename }"
    beside = "beside: services(first: 1) { totalCount } "
    if owner == "Resident":  # beside a sibling whose department calls are in flight when this one fails
        body, operation, door = (
            f"{beside}me {{ sibling: eligibility {{ outcome }} {call} }}",
            "query",
            "Query.me",
        )
    elif owner == "Query":
        body, operation, door = beside + call, "query", f"Query.{name}"
    else:
        body, operation, door = call, owner.lower(), f"{owner}.{name}"
    return Request(f"{operation}({definitions}) {{ {body} }}", variables, "POST", role_of(door))
