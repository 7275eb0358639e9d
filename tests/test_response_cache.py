"""The whole-response cache: public answers served again without executing, personal data never kept."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type, parse
from redis.asyncio import Redis

from schema import build_schema
from schema.response_cache import (
    MEMBERSHIP,
    NOT_CACHED,
    PUBLIC_FIELDS,
    PUBLIC_ROOTS,
    Entry,
    MemoryStore,
    RedisStore,
    ResponseCache,
    classify,
)
from tests.access_support import ask, bearer, fixture, resident_gateway, resident_token
from tests.clients_support import live
from tests.conftest import TEST_NAMESPACE, Gateway, GatewayFactory
from tests.tools import CHROMIUM_FLAGS, chromium, node

CATALOGUE = """query Catalogue {
  services(first: 5, filter: {departments: ["civil-affairs", "hrss", "health"]}) {
    totalCount edges { cursor node { id name department { id name } } }
  }
}"""
PERSONAL = "{ me { id profile { name idNumberMasked } } }"
MIXED = """{ services(first: 1) { totalCount } me { profile { name } } }"""
SCHEMA = build_schema()._schema


def public(document: str) -> bool:
    return classify(SCHEMA, parse(document)).public


# -- which documents are public ----------------------------------------------------------------------


def test_public_documents_are_queries_of_listed_fields_only() -> None:
    assert public(CATALOGUE)
    assert public(
        "{ departments { id name } stations(near: {latitude: 31.2, longitude: 121.5}) { walkMinutes } }"
    )
    assert public('query { service(id: "MZ-001") { __typename id criteria { fact op value } } }')
    assert not public(PERSONAL)
    assert not public(MIXED)
    # a personal field hidden in a fragment, or in a second operation of the same document
    assert not public("query A { services { totalCount } ...F } fragment F on Query { me { id } }")
    assert not public("query A { services { totalCount } } query B { me { id } }")
    assert not public('mutation { cancelAppointment(id: "1") { status } }')
    assert not public("subscription { caseUpdated { changedAt } }")
    assert not public("{ departments { id status } }")  # the breaker's state: volatile
    assert not public("{ __schema { types { name } } }")
    assert not public(
        '{ _entities(representations: [{__typename: "Service", id: "MZ-001"}]) { __typename } }'
    )
    assert not public("{ services { totalCount noSuchField } }")  # unknown: fail closed


def test_the_list_classifies_every_field_of_every_public_type() -> None:
    """A field added to a public type must be put in PUBLIC_FIELDS or NOT_CACHED by its author, and
    every type reachable through listed fields is listed itself (or a scalar/enum)."""
    for name, fields in PUBLIC_FIELDS.items():
        graphql_type = SCHEMA.type_map[name]
        assert isinstance(graphql_type, GraphQLObjectType)
        declared = set(graphql_type.fields) - {"_service", "_entities"}
        assert declared == fields | NOT_CACHED.get(name, frozenset()), name
        for field_name in fields:
            target = get_named_type(graphql_type.fields[field_name].type)
            assert is_leaf_type(target) or target.name in PUBLIC_FIELDS, f"{name}.{field_name}"
    query = SCHEMA.query_type
    assert query is not None
    for root in PUBLIC_ROOTS:
        assert get_named_type(query.fields[root].type).name in PUBLIC_FIELDS


# -- a gateway ------------------------------------------------------------------------------------


def cache_of(gateway: Gateway) -> ResponseCache:
    cache = gateway.services.response_cache
    assert isinstance(cache, ResponseCache)
    return cache


def count_executions(gateway: Gateway) -> list[str]:
    """Every document the schema really executes, in order."""
    view = next(r.endpoint for r in gateway.app.routes if getattr(r, "path", "") == "/graphql")
    executed: list[str] = []
    execute = view.schema.execute

    async def counting(query: str | None, *args: Any, **kwargs: Any) -> Any:
        executed.append(query or "")
        return await execute(query, *args, **kwargs)

    view.schema.execute = counting
    return executed


async def test_a_repeated_public_query_is_answered_without_executing(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(response_cache=True)
    executed = count_executions(gateway)
    first = await gateway.query(CATALOGUE)
    second = await gateway.query(CATALOGUE)
    assert not first.get("errors") and second == first
    assert len(executed) == 1
    assert cache_of(gateway).hits == 1
    # other variables, another channel: other answers
    await gateway.query(CATALOGUE, **{"x-onestop-channel": "kiosk"})
    assert len(executed) == 2


async def test_kept_for_the_shortest_freshness_of_the_data_used(make_gateway: GatewayFactory) -> None:
    ttl = {"civil-affairs": 40, "hrss": 300, "health": 30}

    def edit(department: str, text: str) -> str:
        seconds = ttl.get(department)
        return text if seconds is None else text.replace("cache_ttl_s: 300", f"cache_ttl_s: {seconds}", 1)

    gateway = await make_gateway(edit=edit, response_cache=True)
    await gateway.query(CATALOGUE)
    store = cache_of(gateway).store
    assert isinstance(store, MemoryStore)
    (entry,) = store.entries.values()
    assert 25 < entry.expires_at - time.time() <= 30
    assert set(entry.versions) == {"civil-affairs", "hrss", "health", MEMBERSHIP}


async def test_personal_data_is_never_kept_nor_served(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway, response_cache=True)
    cache = cache_of(gateway)
    store = cache.store
    assert isinstance(store, MemoryStore)
    resident = fixture("senior_pudong")
    token = resident_token(resident)
    executed = count_executions(gateway)
    for _ in range(2):
        mine = await ask(gateway, token, PERSONAL)
        assert mine["data"]["me"]["profile"]["name"], mine
        mixed = await ask(gateway, token, MIXED)
        assert mixed["data"]["me"]["profile"]["name"], mixed
    assert len(executed) == 4 and cache.hits == 0 and not store.entries
    # the same resident asking public data: kept (it is everyone's), then personal again: executed
    await ask(gateway, token, CATALOGUE)  # the token's channel is the app's
    await gateway.query(CATALOGUE, **{"x-onestop-channel": "app"})
    assert cache.hits == 1 and len(store.entries) == 1
    again = await ask(gateway, token, PERSONAL)
    assert again["data"]["me"]["profile"]["name"] and len(executed) == 6
    kept = b"".join(e.body for e in store.entries.values())
    assert resident.name.encode() not in kept and resident.id_number[-4:].encode() not in kept
    assert b'"me"' not in kept


async def test_get_answers_say_how_long_shared_caches_may_keep_them(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway, response_cache=True)
    first = await gateway.client.get("/graphql", params={"query": CATALOGUE})
    assert first.status_code == 200 and first.json()["data"]["services"]
    control = first.headers["cache-control"]
    assert control.startswith("public, max-age=") and 0 < int(control.split("=")[1]) <= 300
    etag = first.headers["etag"]
    ask_get = gateway.client.get
    again = await ask_get("/graphql", params={"query": CATALOGUE}, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = await gateway.client.get(
        "/graphql", params={"query": CATALOGUE}, headers={"if-none-match": '"x"'}
    )
    assert other.status_code == 200 and other.content == first.content
    # personal: never for a shared cache, whatever the method
    token = resident_token(fixture("senior_pudong"))
    personal = await gateway.client.get("/graphql", params={"query": PERSONAL}, headers=bearer(token))
    assert personal.json()["data"]["me"] and personal.headers["cache-control"] == "private, no-store"
    assert "etag" not in personal.headers
    posted = await gateway.client.post("/graphql", json={"query": CATALOGUE})
    assert posted.headers["cache-control"] == "private, no-store"


async def test_a_partial_answer_is_not_kept(make_gateway: GatewayFactory, admin: Any) -> None:
    gateway = await make_gateway(cache_url="memory://", policy={"retries": 0}, response_cache=True)
    await admin.fault("health", down=True)
    executed = count_executions(gateway)
    for _ in range(2):
        body = await gateway.query(CATALOGUE)
        assert {e["extensions"]["department"] for e in body["errors"]} == {"health"}
    assert len(executed) == 2 and not cache_of(gateway).store.entries  # type: ignore[attr-defined]


async def test_a_reload_drops_what_the_department_made(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(response_cache=True)
    executed = count_executions(gateway)
    await gateway.query(CATALOGUE)
    await gateway.query('{ services(first: 1, filter: {departments: ["community"]}) { totalCount } }')
    store = cache_of(gateway).store
    assert isinstance(store, MemoryStore) and len(store.entries) == 2
    registry = gateway.services.registry
    health = registry.get("health")
    registry.replace([(health.spec, health.version + 1)])  # what the reloader does on a new version
    await gateway.query(CATALOGUE)
    assert len(executed) == 3  # run again on the new version
    (community,) = [e for e in store.entries.values() if set(e.versions) == {"community", MEMBERSHIP}]
    assert community is not None and len(store.entries) == 2
    assert {e.versions.get("health") for e in store.entries.values()} == {None, health.version + 1}


async def test_a_new_department_is_in_the_next_answer(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(response_cache=True)
    everything = "{ services(first: 1) { totalCount } departments { id } }"
    before = await gateway.query(everything)
    assert await gateway.query(everything) == before and cache_of(gateway).hits == 1
    registry = gateway.services.registry
    community = registry.get("community")
    extra = community.spec.model_copy(update={"id": "community-two"})
    registry.replace([(extra, 1)])  # a department registered: "every catalogue" has one more
    after = await gateway.query(everything)
    assert len(after["data"]["departments"]) == len(before["data"]["departments"]) + 1
    assert after["data"]["services"]["totalCount"] > before["data"]["services"]["totalCount"]


async def test_off_means_every_query_runs(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(response_cache=False)
    assert gateway.services.response_cache is None
    executed = count_executions(gateway)
    await gateway.query(CATALOGUE)
    await gateway.query(CATALOGUE)
    assert len(executed) == 2


@pytest.mark.usefixtures("mocks")
async def test_replicas_share_answers_through_redis(make_gateway: GatewayFactory, redis_url: str) -> None:
    first = await resident_gateway(
        make_gateway, cache_url=redis_url, redis_url=redis_url, response_cache=True
    )
    second = await resident_gateway(
        make_gateway, cache_url=redis_url, redis_url=redis_url, response_cache=True
    )
    executed = count_executions(second)
    token = resident_token(fixture("senior_pudong"))
    personal = await ask(first, token, MIXED)
    assert personal["data"]["me"]
    body = await ask(first, token, CATALOGUE)
    assert await second.query(CATALOGUE, **{"x-onestop-channel": "app"}) == body  # the token's channel
    assert executed == [] and cache_of(second).hits == 1
    redis = Redis.from_url(redis_url)
    try:
        keys = await redis.keys(f"{TEST_NAMESPACE}:rc:entry:*")
        assert len(keys) == 1
        kept = await redis.get(keys[0])
        assert b'"me"' not in kept and fixture("senior_pudong").name.encode() not in kept
        # a reload seen by one replica drops the entries of that department for all
        registry = second.services.registry
        hrss = registry.get("hrss")
        registry.replace([(hrss.spec, hrss.version + 1)])
        await ask(second, None, "{ departments { id } }")  # what notices it (then kept itself)
        assert keys[0] not in await redis.keys(f"{TEST_NAMESPACE}:rc:entry:*")
        catalogue = keys[0].decode().rsplit(":", 1)[1].encode()
        assert catalogue not in await redis.smembers(f"{TEST_NAMESPACE}:rc:tag:hrss")
    finally:
        await redis.aclose()


def entry(body: bytes, *departments: str) -> Entry:
    return Entry(body, "Q", time.time() + 60, dict.fromkeys(departments, 1), '"e"')


async def test_memory_is_bounded_and_drops_by_tag() -> None:
    store = MemoryStore(max_entries=2)
    for key, department in (("a", "hrss"), ("b", "health"), ("c", "hrss")):
        await store.put(key, entry(key.encode(), department), 60)
    assert list(store.entries) == ["b", "c"]  # the oldest out
    await store.invalidate(["hrss"])
    assert list(store.entries) == ["b"] and not store.tags.get("hrss")


async def test_redis_is_bounded_and_drops_by_tag(redis_url: str) -> None:
    store = RedisStore(redis_url, TEST_NAMESPACE, max_entries=2, max_ttl_s=60)
    try:
        for key, department in (("a", "hrss"), ("b", "health"), ("c", "hrss")):
            await store.put(key, entry(key.encode(), department), 60)
        assert await store.get("a") is None
        kept = await store.get("c")
        assert kept is not None and kept.body == b"c" and kept.versions == {"hrss": 1}
        await store.invalidate(["hrss"])
        assert await store.get("c") is None and (await store.get("b")) is not None
    finally:
        await store.close()


async def test_a_browsers_http_cache_keeps_public_answers_only(
    make_gateway: GatewayFactory, tmp_path: Path
) -> None:
    """Chromium's own HTTP cache, as a kiosk's browser: the public answer is reused while fresh and
    revalidated with a 304; the personal one is asked for every time."""
    gateway = await resident_gateway(make_gateway, response_cache=True)
    token = resident_token(fixture("senior_pudong"))
    executed = count_executions(gateway)
    async with live(gateway.app) as server:
        options = {
            "chromium": chromium(),
            "flags": list(CHROMIUM_FLAGS),
            "userDataDir": str(tmp_path / "chromium"),
            "origin": server.url,
            "public": f"{server.url}/graphql?{urlencode({'query': CATALOGUE})}",
            "personal": f"{server.url}/graphql?{urlencode({'query': PERSONAL})}",
            "token": token,
        }
        script = Path(__file__).parent / "js" / "http_cache.mjs"
        process = await asyncio.create_subprocess_exec(
            node(), str(script), json.dumps(options), stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    seen = json.loads(out)
    cache = cache_of(gateway)
    first, second, revalidated = seen["first"], seen["second"], seen["revalidated"]
    assert first["status"] == second["status"] == revalidated["status"] == 200
    assert first["body"] == second["body"] == revalidated["body"]
    assert json.loads(first["body"])["data"]["services"]["edges"]
    # the second fetch never left the browser; the third came back as a 304 (a cache hit here)
    assert executed == [CATALOGUE, PERSONAL, PERSONAL] and cache.hits == 1
    assert seen["revalidated"]["control"].startswith("public, max-age=")
    assert seen["personalFirst"]["control"] == seen["personalSecond"]["control"] == "private, no-store"
    assert json.loads(seen["personalSecond"]["body"])["data"]["me"]["profile"]["name"]
    store = cache.store
    assert isinstance(store, MemoryStore) and len(store.entries) == 1


async def test_max_age_is_counted_on_the_caches_own_clock(make_gateway: GatewayFactory) -> None:
    """Entries expire on the cache's (injected) clock; the max-age a CDN is told comes from it too."""
    gateway = await make_gateway(response_cache=True)
    cache = cache_of(gateway)
    first = await gateway.client.get("/graphql", params={"query": CATALOGUE})
    assert first.headers["cache-control"].startswith("public, max-age=")
    (kept,) = cache.store.entries.values()  # type: ignore[attr-defined]
    cache._clock = lambda: kept.expires_at - 7  # seven seconds of freshness left
    again = await gateway.client.get("/graphql", params={"query": CATALOGUE})
    assert again.headers["cache-control"] == "public, max-age=7" and cache.hits == 1


async def test_a_miss_that_is_kept_reads_the_connector_versions_once(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(response_cache=True)
    cache = cache_of(gateway)
    observed: list[int] = []
    observe = cache.observe

    async def counting(registry: Any) -> dict[str, int]:
        observed.append(1)
        return await observe(registry)

    cache.observe = counting  # type: ignore[method-assign]
    await gateway.query(CATALOGUE)
    assert cache.stored == 1 and len(observed) == 1
