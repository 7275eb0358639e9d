"""Onestop as an Apollo Federation v2 subgraph: ``_service { sdl }`` and ``_entities`` for Service, Station
and Department — in process here; composed with mesh-compose behind Hive Gateway in
``test_federation_gateway.py``."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import httpx
from graphql import parse

from identity.principal import Role
from mocks.server import RunningMocks
from schema import build_schema
from schema.contract import subgraph_sdl
from tests.appointments_support import gateway_processes
from tests.conftest import Admin, Gateway, GatewayFactory
from tests.gateway_process import free_port
from tests.live_support import until
from tests.onboarding_support import SECRET, bearer, token
from tests.tools import JS_DIR, node, node_bin

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
    assert sdl == subgraph_sdl(build_schema()).rstrip("\n")  # what `onestop schema print --federation` prints
    assert '@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])' in sdl
    for entity in ("Service", "Station", "Department"):
        assert f'type {entity} @key(fields: "id")' in sdl
    parse(sdl)


async def test_service_sdl_in_production_only_for_an_operator(make_gateway: GatewayFactory) -> None:
    production = await make_gateway(mode="production", jwt_secret=SECRET)
    refused = await production.query("{ _service { sdl } }")
    assert codes(refused) == ["INTROSPECTION_DISABLED"] and refused["data"] is None

    staff = await production.query(
        "{ _service { sdl } }", None, **bearer(token(Role.STAFF, station="ZD-0001"))
    )
    assert codes(staff) == ["INTROSPECTION_DISABLED"]
    allowed = await production.query("{ _service { sdl } }", None, **bearer(token()))
    assert "type Service @key" in allowed["data"]["_service"]["sdl"]
    # entities are public data: a router needs no token for them, and introspection stays off
    entities = await production.query(ENTITIES, {"representations": [ref("Service", "MZ-001")]})
    assert entities["data"]["_entities"][0]["id"] == "MZ-001"
    introspection = await production.client.post("/graphql", json={"query": "{ __schema { description } }"})
    assert codes(introspection.json()) == ["INTROSPECTION_DISABLED"]


async def test_federation_fields_leave_existing_queries_alone(gateway: Gateway) -> None:
    body = await gateway.query('{ service(id: "MZ-001") { id name department { id } } departments { id } }')
    assert "errors" not in body and body["data"]["service"]["department"]["id"] == "civil-affairs"


# -- composed with an off-the-shelf composer, behind Hive Gateway -------------------------------------

EVENTS = "{ events { id title service { id name nameEn department { id name } } } }"
START_S = 60.0


async def test_hive_gateway_resolves_onestop_services_in_a_composed_graph(
    mocks: RunningMocks, tmp_path: Path
) -> None:
    """A city-level graph: mesh-compose composes Onestop with a second district's subgraph whose events
    name services by id only; Hive Gateway (npm) in front of a real gateway process answers the events
    with each service's names and department, which only Onestop's ``_entities`` can give."""
    services = ["MZ-001", "GH-003", "JY-001"]
    events_script = [node(), str(JS_DIR / "district-events.mjs")]
    database = f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}"
    async with (
        gateway_processes(mocks, database, tmp_path, count=1) as (onestop,),
        node_process(events_script, {"EVENT_SERVICES": ",".join(services)}) as events,
    ):
        assert events.stdout is not None
        port = json.loads(await asyncio.wait_for(events.stdout.readline(), START_S))["port"]
        supergraph = await compose(tmp_path, f"{onestop}/graphql", f"http://127.0.0.1:{port}/graphql")
        router_port = free_port()
        hive = [node_bin("hive-gateway"), "supergraph", str(supergraph), "--host", "127.0.0.1"]
        with (tmp_path / "hive-gateway.log").open("wb") as log:
            async with (
                node_process([*hive, "--port", str(router_port)], {}, cwd=tmp_path, stdout=log),
                httpx.AsyncClient(timeout=10) as client,
            ):
                router = f"http://127.0.0.1:{router_port}"
                await ready(client, f"{router}/readiness")
                await ready(client, f"{onestop}/readyz")
                body = (await client.post(f"{router}/graphql", json={"query": EVENTS})).json()
                direct = (await client.post(f"{router}/graphql", json={"query": SERVICE})).json()
    assert "errors" not in body, body
    resolved = {e["service"]["id"]: e["service"] for e in body["data"]["events"]}
    assert list(resolved) == services
    for service in resolved.values():
        assert service["name"] and service["nameEn"] and service["department"]["name"]
    assert resolved["MZ-001"]["department"]["id"] == "civil-affairs"
    assert direct == {"data": {"service": {"id": "MZ-001", "name": resolved["MZ-001"]["name"]}}}


async def compose(directory: Path, onestop: str, events: str) -> Path:
    """mesh-compose (tests/js/mesh.config.mjs) over both subgraphs' ``_service { sdl }``: the supergraph."""
    supergraph = directory / "supergraph.graphql"
    config = str(JS_DIR / "mesh.config.mjs")
    composing = await asyncio.create_subprocess_exec(
        node_bin("mesh-compose"),
        *("-c", config, "-o", str(supergraph)),
        cwd=JS_DIR,
        env=os.environ | {"ONESTOP_SUBGRAPH_URL": onestop, "EVENTS_SUBGRAPH_URL": events},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(composing.communicate(), START_S)
    assert composing.returncode == 0, output.decode(errors="replace")[-3000:]
    text = supergraph.read_text(encoding="utf-8")
    assert 'type Service @join__type(graph: EVENTS, key: "id", resolvable: false)' in text
    return supergraph


SERVICE = '{ service(id: "MZ-001") { id name } }'


@asynccontextmanager
async def node_process(
    argv: list[str],
    environ: dict[str, str],
    cwd: Path = JS_DIR,
    stdout: IO[bytes] | int = asyncio.subprocess.PIPE,
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A Node process of this test, stopped by its pid (SIGTERM, then SIGKILL after 10 s)."""
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=os.environ | environ, stdout=stdout, stderr=asyncio.subprocess.STDOUT
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def ready(client: httpx.AsyncClient, url: str) -> None:
    async def answers() -> bool:
        try:
            return (await client.get(url)).status_code == 200
        except httpx.TransportError:
            return False

    await until(answers, timeout=START_S, every=0.2)


async def test_the_cost_limit_counts_every_reference(make_gateway: GatewayFactory) -> None:
    limited = await make_gateway(max_complexity=200)
    few = await limited.query(ENTITIES, {"representations": [ref("Service", "MZ-001")] * 5})
    assert "errors" not in few
    many = await limited.client.post(
        "/graphql",
        json={"query": ENTITIES, "variables": {"representations": [ref("Service", "MZ-001")] * 60}},
    )
    error = many.json()["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX" and error["extensions"]["actual"] > 200
    references = ", ".join(['{__typename: "Service", id: "MZ-001"}'] * 80)
    inline = "{ _entities(representations: [" + references + "]) { ... on Service { id name } } }"
    refused = await limited.client.post("/graphql", json={"query": inline})
    assert refused.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
