"""Prometheus metrics: what a request, a failing department and the cache leave in ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from observability.metrics import OTHER, OperationNames
from tests.conftest import DEPARTMENT_IDS, Admin, Gateway, GatewayFactory
from tests.waiting import until

CATALOGUE = "query Catalogue { services(first: 100) { totalCount edges { node { id } } } }"


def sample(gateway: Gateway, name: str, **labels: str) -> float:
    value = gateway.services.observability.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else float(value)


async def scrape(gateway: Gateway, **headers: str) -> dict[str, Any]:
    response = await gateway.client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(response.text)}


async def test_a_query_is_counted_timed_and_its_upstream_calls_too(gateway: Gateway, admin: Admin) -> None:
    body = await gateway.query(CATALOGUE)
    assert "errors" not in body
    families = await scrape(gateway)
    assert all(name.startswith("onestop_") for name in families)
    assert sample(gateway, "onestop_requests_total", operation="Catalogue", type="query", outcome="ok") == 1
    assert sample(gateway, "onestop_request_duration_seconds_count", operation="Catalogue", type="query") == 1
    catalogues = [d.id for d in gateway.services.registry.all() if "catalog" in d.spec.operations]
    assert catalogues
    for department in catalogues:  # every call the department saw (sign-in requests are part of one)
        seen = sum(n for path, n in (await admin.paths(department)).items() if "token" not in path)
        assert (
            sample(gateway, "onestop_upstream_calls_total", department=department, operation="catalog")
            == seen
        )
    for department in catalogues:
        assert (
            sample(
                gateway, "onestop_upstream_duration_seconds_count", department=department, operation="catalog"
            )
            >= 1
        )
        assert sample(gateway, "onestop_cache_misses_total", department=department) == 1
        assert sample(gateway, "onestop_breaker_state", department=department, state="CLOSED") == 1
        assert sample(gateway, "onestop_breaker_state", department=department, state="OPEN") == 0

    await gateway.query(CATALOGUE)  # warm: answered from the cache
    assert sample(gateway, "onestop_requests_total", operation="Catalogue", type="query", outcome="ok") == 2
    for department in catalogues:
        assert sample(gateway, "onestop_cache_hits_total", department=department) == 1


async def test_a_failing_department_shows_in_errors_breaker_and_outcome(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await make_gateway(policy={"breaker_failures": 2, "breaker_reset_s": 30, "retries": 0})
    await admin.fault("health", error_rate=1.0)
    for _ in range(3):
        body = await gateway.query(CATALOGUE)
        assert body["errors"][0]["extensions"]["department"] == "health"
    assert (
        sample(gateway, "onestop_requests_total", operation="Catalogue", type="query", outcome="partial") == 3
    )
    assert (
        sample(
            gateway,
            "onestop_upstream_errors_total",
            department="health",
            operation="catalog",
            code="UPSTREAM_UNAVAILABLE",
        )
        == 2
    )
    # the third query never reached health: refused by the open breaker, and counted as such
    assert (
        sample(
            gateway,
            "onestop_upstream_errors_total",
            department="health",
            operation="catalog",
            code="UPSTREAM_CIRCUIT_OPEN",
        )
        == 1
    )
    assert sample(gateway, "onestop_upstream_calls_total", department="health", operation="catalog") == 2
    assert sample(gateway, "onestop_breaker_state", department="health", state="OPEN") == 1
    assert (
        sample(gateway, "onestop_graphql_errors_total", code="UPSTREAM_UNAVAILABLE", department="health") == 2
    )
    assert (
        sample(gateway, "onestop_graphql_errors_total", code="UPSTREAM_CIRCUIT_OPEN", department="health")
        == 1
    )


async def test_refused_requests_are_counted_with_their_outcome(gateway: Gateway) -> None:
    bad = await gateway.client.post("/graphql", json={"query": "{ services(first: 1) { nope } }"})
    assert bad.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    unauthenticated = await gateway.client.post(
        "/graphql", json={"query": "{ departments { id } }"}, headers={"Authorization": "Bearer nonsense"}
    )
    assert unauthenticated.status_code == 401
    assert (
        sample(gateway, "onestop_requests_total", operation="anonymous", type="query", outcome="error") == 1
    )
    assert (
        sample(gateway, "onestop_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED", department="") == 1
    )
    assert (
        sample(gateway, "onestop_requests_total", operation="anonymous", type="unknown", outcome="rejected")
        == 1
    )


async def test_each_app_has_its_own_registry(make_gateway: GatewayFactory) -> None:
    first, second = await make_gateway(), await make_gateway()
    await first.query("query Ping { departments { id } }")
    assert sample(first, "onestop_requests_total", operation="Ping", type="query", outcome="ok") == 1
    assert sample(second, "onestop_requests_total", operation="Ping", type="query", outcome="ok") == 0


async def test_in_flight_is_read_at_scrape_time(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await make_gateway(policy={"timeout_s": 2, "deadline_s": 3})
    await admin.fault("commerce", latency_ms=400)
    pending = [asyncio.create_task(gateway.query(CATALOGUE)) for _ in range(3)]
    # all three wait on commerce's one call (single-flight)
    await until(lambda: sample(gateway, "onestop_upstream_in_flight", department="commerce") == 1)
    assert sample(gateway, "onestop_requests_in_flight") == 3
    await asyncio.gather(*pending)
    assert sample(gateway, "onestop_requests_in_flight") == 0
    limiter = gateway.services.guards.inflight  # the in-flight limit, exported as it stands
    assert sample(gateway, "onestop_requests_in_flight_limit") == limiter.limit
    assert sample(gateway, "onestop_requests_refused_overload_total") == limiter.refused == 0


async def test_refusals_by_the_guards_are_counted(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(rate_limit_client=0.01, rate_limit_client_burst=1)
    statuses = [
        (
            await gateway.client.post("/graphql", json={"query": "query Ping { departments { id } }"})
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 429, 429]
    assert (
        sample(
            gateway, "onestop_requests_total", operation="anonymous", type="unknown", outcome="rate_limited"
        )
        == 2
    )
    assert sample(gateway, "onestop_requests_refused_rate_limit_total", scope="client") == 2


async def test_overload_refusals_are_counted(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await make_gateway(max_in_flight=1, policy={"timeout_s": 2, "deadline_s": 3})
    await admin.fault("commerce", latency_ms=300)
    first = asyncio.create_task(gateway.client.post("/graphql", json={"query": CATALOGUE}))
    await until(lambda: sample(gateway, "onestop_requests_in_flight") == 1)  # the first holds the slot
    second = await gateway.client.post("/graphql", json={"query": CATALOGUE})
    assert second.status_code == 503 and (await first).status_code == 200
    assert (
        sample(gateway, "onestop_requests_total", operation="anonymous", type="unknown", outcome="overloaded")
        == 1
    )
    assert sample(gateway, "onestop_requests_refused_overload_total") == 1


async def test_metrics_can_require_a_token(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(metrics_token="scrape-me")
    assert (await gateway.client.get("/metrics")).status_code == 401
    wrong = await gateway.client.get("/metrics", headers={"Authorization": "Bearer scrape-you"})
    assert wrong.status_code == 401 and wrong.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "onestop_requests" in await scrape(gateway, Authorization="Bearer scrape-me")


def test_operation_labels_are_bounded_and_never_numbers() -> None:
    names = OperationNames(limit=2)
    assert names.label(None) == "anonymous"
    assert names.label("Catalogue") == "Catalogue"
    assert names.label("Resident_110101199003074514") == OTHER  # could carry an ID number
    assert names.label("Nearby") == "Nearby"
    assert names.label("Third") == OTHER  # a client inventing names cannot grow the registry
    assert names.label("Catalogue") == "Catalogue"


async def test_every_department_is_in_the_breaker_gauge(gateway: Gateway) -> None:
    families = await scrape(gateway)
    departments = {s.labels["department"] for s in families["onestop_breaker_state"].samples}
    assert departments == set(DEPARTMENT_IDS)


async def test_the_response_cache_reports_hits_misses_stores_and_what_it_holds(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway(response_cache=True)
    assert "onestop_response_cache_hits" not in await scrape(await make_gateway())  # off: not reported
    first = await gateway.client.post("/graphql", json={"query": CATALOGUE})  # a miss, then kept
    second = await gateway.client.post("/graphql", json={"query": CATALOGUE})  # a hit
    assert second.content == first.content and b'"errors"' not in first.content
    families = await scrape(gateway)
    for family in ("hits", "misses", "stores", "invalidations", "entries", "bytes"):
        assert f"onestop_response_cache_{family}" in families
    assert sample(gateway, "onestop_response_cache_hits_total") == 1
    assert sample(gateway, "onestop_response_cache_misses_total") == 1
    assert sample(gateway, "onestop_response_cache_stores_total") == 1
    assert sample(gateway, "onestop_response_cache_entries") == 1
    assert sample(gateway, "onestop_response_cache_bytes") == len(first.content)
    cache = gateway.services.response_cache
    assert cache is not None
    await cache.invalidate(["hrss"])  # what a change at hrss does
    assert sample(gateway, "onestop_response_cache_invalidations_total") == 1
    assert sample(gateway, "onestop_response_cache_entries") == 0
    assert sample(gateway, "onestop_response_cache_bytes") == 0
