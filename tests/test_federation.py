"""Onestop as an Apollo Federation v2 subgraph: ``_service { sdl }`` and ``_entities`` for Service, Station
and Department — in process here; composed with mesh-compose behind Hive Gateway in
``test_federation_gateway.py``."""

from __future__ import annotations

from typing import Any

from graphql import build_schema

from identity.principal import Role
from tests.conftest import Admin, Gateway, GatewayFactory
from tests.onboarding_support import SECRET, bearer, token

ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  __typename
  ... on Service { id name nameEn department { id name } }
  ... on Station { id name town services { id } }
  ... on Department { id nameEn status }
} }"""


def ref(typename: str, id: str) -> dict[str, str]:
    return {"__typename": typename, "id": id}


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


async def test_entities_resolve_services_stations_and_departments(gateway: Gateway) -> None:
    near = "{ stations(near: {latitude: 31.2304, longitude: 121.505}) { station { id } } }"
    station = (await gateway.query(near))["data"]["stations"][0]["station"]["id"]
    representations = [
        ref("Service", "MZ-001"),
        ref("Station", station),
        ref("Department", "housing"),
        ref("Service", "GH-003"),
        ref("Service", "NO-SUCH-1"),
        ref("Station", "NO-SUCH-STATION"),
        ref("Department", "nobody"),
    ]
    body = await gateway.query(ENTITIES, {"representations": representations})
    assert "errors" not in body, body
    service, found_station, department, second, *missing = body["data"]["_entities"]
    assert service["__typename"] == "Service" and service["id"] == "MZ-001" and service["name"]
    assert service["department"]["id"] == "civil-affairs"
    assert found_station["id"] == station and found_station["services"]
    assert (department["__typename"], department["id"], department["status"]) == (
        "Department",
        "housing",
        "UP",
    )
    assert second["id"] == "GH-003"
    assert missing == [None, None, None]  # an id nobody has is null, as a router expects


async def test_many_references_cost_what_one_costs(
    gateway: Gateway, make_gateway: GatewayFactory, admin: Admin
) -> None:
    """One batch, not N calls: 225 references ask the departments exactly as often as one does."""
    services = await gateway.query("{ services(first: 100) { edges { node { id } } } }")
    ids = [e["node"]["id"] for e in services["data"]["services"]["edges"]]
    assert len(ids) > 50

    async def upstream_requests(representations: list[dict[str, str]]) -> int:
        cold = await make_gateway()  # its own cache: every department is asked afresh
        before = await admin.requests()
        body = await cold.query(ENTITIES, {"representations": representations})
        assert "errors" not in body and len(body["data"]["_entities"]) == len(representations)
        return await admin.requests() - before

    one = await upstream_requests([ref("Service", ids[0])])
    many = await upstream_requests([ref("Service", i) for i in ids] * 3)
    assert one > 0 and many == one, (one, many)


async def test_bad_references_are_typed_refusals(gateway: Gateway) -> None:
    for representations in (
        [{"__typename": "Resident", "id": "x"}],  # not an entity: personal data is never a reference
        [{"__typename": "Service"}],
        [{"__typename": "Service", "id": 7}],
        [{"__typename": "Service", "id": "MZ-001", "extra": 1}],
        ["MZ-001"],
        [ref("Service", "MZ-001")] * 501,
    ):
        body = await gateway.query(ENTITIES, {"representations": representations})
        assert codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["argument"].startswith("representations")


async def test_service_sdl_is_the_subgraph_in_development(gateway: Gateway) -> None:
    sdl = (await gateway.query("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key"])' in sdl
    for entity in ("Service", "Station", "Department"):
        assert f'type {entity} @key(fields: "id")' in sdl
    schema = build_schema(
        sdl + "\ndirective @key(fields: String!) repeatable on OBJECT\n"
        "directive @link(url: String!, import: [String]) repeatable on SCHEMA\n"
        "scalar link__Import\n",
        assume_valid_sdl=True,
    )
    assert "services" in schema.query_type.fields  # type: ignore[union-attr]


async def test_service_sdl_in_production_only_for_an_operator(make_gateway: GatewayFactory) -> None:
    production = await make_gateway(mode="production", jwt_secret=SECRET)
    refused = await production.query("{ _service { sdl } }")
    assert codes(refused) == ["INTROSPECTION_DISABLED"] and refused["data"] is None

    staff = await production.query("{ _service { sdl } }", **bearer(token(Role.STAFF, station="ZD-0001")))
    assert codes(staff) == ["INTROSPECTION_DISABLED"]
    allowed = await production.query("{ _service { sdl } }", **bearer(token()))
    assert "type Service @key" in allowed["data"]["_service"]["sdl"]
    # entities are public data: a router needs no token for them, and introspection stays off
    entities = await production.query(ENTITIES, {"representations": [ref("Service", "MZ-001")]})
    assert entities["data"]["_entities"][0]["id"] == "MZ-001"
    introspection = await production.client.post("/graphql", json={"query": "{ __schema { description } }"})
    assert codes(introspection.json()) == ["INTROSPECTION_DISABLED"]


async def test_federation_fields_leave_existing_queries_alone(gateway: Gateway) -> None:
    body = await gateway.query('{ service(id: "MZ-001") { id name department { id } } departments { id } }')
    assert "errors" not in body and body["data"]["service"]["department"]["id"] == "civil-affairs"
