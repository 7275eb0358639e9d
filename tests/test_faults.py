"""Departments failing in every way the mocks can: the answer stays 200, partial and typed.

Each department fails its own way (HTTP 500, a SOAP fault, an envelope code with HTTP 200, a garbage
body, a hang, a closed connection, a slow drip); the others' data must all still be there.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from mocks.world import DEFAULT_SEED, build_world
from tests.conftest import DEPARTMENT_IDS, Admin, Gateway, GatewayFactory
from tests.waiting import ahead, until

WORLD = build_world(DEFAULT_SEED)
DEPARTMENTS = sorted(DEPARTMENT_IDS)
CATALOGUE = "{ services(first: 100) { totalCount edges { node { id department { id } } } } }"

FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "slow": ({"latency_ms": 1500}, "UPSTREAM_TIMEOUT"),
    "errors": ({"error_rate": 1.0}, "UPSTREAM_UNAVAILABLE"),
    "hang": ({"hang": True}, "UPSTREAM_TIMEOUT"),
    "garbage": ({"malformed": True}, "UPSTREAM_BAD_RESPONSE"),
    "down": ({"down": True}, "UPSTREAM_UNAVAILABLE"),
    "drip": ({"drip_ms": 400}, "UPSTREAM_TIMEOUT"),
}


def service_ids(body: dict[str, Any]) -> set[str]:
    return {e["node"]["id"] for e in body["data"]["services"]["edges"]}


def expected_ids(without: str | None = None) -> set[str]:
    return {s.code for s in WORLD.catalogue if s.department != without}


def step_past_reset(gateway: Gateway, department: str) -> None:
    """Move the department's breaker clock past its reset time (30 s here: never reached by waiting)."""
    breaker = gateway.services.registry.get(department).resilience.breaker
    breaker.clock = ahead(breaker.clock, breaker.reset_s)


@pytest.mark.parametrize("mode", list(FAULTS))
@pytest.mark.parametrize("department", DEPARTMENTS)
async def test_a_failing_department_costs_only_its_own_data(
    make_gateway: GatewayFactory, admin: Admin, department: str, mode: str
) -> None:
    gateway = await make_gateway(policy={"timeout_s": 0.4, "deadline_s": 0.9})
    fault, code = FAULTS[mode]
    await admin.fault(department, **fault)
    started = time.monotonic()
    body = await gateway.query(CATALOGUE)
    assert time.monotonic() - started < 3  # bounded by the deadline, not by the department
    assert service_ids(body) == expected_ids(without=department)
    errors = body["errors"]
    assert [(e["extensions"]["department"], e["extensions"]["code"]) for e in errors] == [(department, code)]
    assert errors[0]["path"] == ["services"]
    assert "Traceback" not in str(body)


async def test_breaker_opens_stops_calling_and_recovers(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await make_gateway(policy={"breaker_failures": 3, "breaker_reset_s": 30, "retries": 1})
    await admin.fault("health", error_rate=1.0)
    for _ in range(2):  # two queries, two attempts each: four failures >= 3
        await gateway.query(CATALOGUE)
    calls = await admin.requests("health")
    body = await gateway.query(CATALOGUE)
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_CIRCUIT_OPEN"
    assert await admin.requests("health") == calls  # open: the department is left alone
    status = await gateway.query("{ departments { id status } }")
    assert {d["id"]: d["status"] for d in status["data"]["departments"]}["health"] == "DOWN"
    ready = (await gateway.client.get("/readyz")).json()["departments"]["health"]
    assert ready["breaker"] == "OPEN" and ready["last_failure"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert ready["last_success_at"] is None and ready["upstream_calls"] == 3  # the 4th never left

    await admin.clear_faults()
    step_past_reset(gateway, "health")  # one probe goes through and closes it
    body = await gateway.query(CATALOGUE)
    assert "errors" not in body and service_ids(body) == expected_ids()
    status = await gateway.query("{ departments { id status } }")
    assert {d["id"]: d["status"] for d in status["data"]["departments"]}["health"] == "UP"


async def test_failed_probe_reopens_the_breaker(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await make_gateway(policy={"breaker_failures": 1, "breaker_reset_s": 30, "retries": 0})
    await admin.fault("commerce", down=True)
    await gateway.query(CATALOGUE)
    body = await gateway.query(CATALOGUE)
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_CIRCUIT_OPEN"
    step_past_reset(gateway, "commerce")
    before = await admin.requests("commerce")
    body = await gateway.query(CATALOGUE)  # the probe goes out, fails, and the breaker opens again
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert await admin.requests("commerce") > before
    after_probe = await admin.requests("commerce")
    body = await gateway.query(CATALOGUE)
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_CIRCUIT_OPEN"
    assert await admin.requests("commerce") == after_probe


def short_ttl(department: str, text: str) -> str:
    return text.replace("cache_ttl_s: 300", "cache_ttl_s: 0.2") if department == "commerce" else text


async def test_stale_public_data_is_served_and_flagged(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await make_gateway(edit=short_ttl)
    first = await gateway.query(CATALOGUE)
    assert "extensions" not in first or "stale" not in first["extensions"]
    await admin.fault("commerce", error_rate=1.0)
    answers: list[dict[str, Any]] = []

    async def served_stale() -> bool:  # fresh from the cache until its 0.2 s TTL passes, then stale
        answers.append(await gateway.query(CATALOGUE))
        return "stale" in answers[-1].get("extensions", {})

    await until(served_stale)
    body = answers[-1]
    assert service_ids(body) == expected_ids()  # commerce's services still there, from cache
    assert "errors" not in body
    (stale,) = body["extensions"]["stale"]
    assert stale["department"] == "commerce" and stale["data"] == "catalog"
    assert stale["reason"] == "UPSTREAM_UNAVAILABLE" and stale["ageSeconds"] >= 0.2


async def test_identical_concurrent_requests_share_one_upstream_call(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await make_gateway()
    for department in DEPARTMENTS:
        await admin.fault(department, latency_ms=150)
    bodies = await asyncio.gather(*(gateway.query(CATALOGUE) for _ in range(20)))
    assert all(service_ids(b) == expected_ids() for b in bodies)
    assert await admin.requests("commerce") == 1
    assert await admin.requests("civil-affairs") == 1


async def test_departments_are_asked_in_parallel(make_gateway: GatewayFactory, admin: Admin) -> None:
    """Four departments at 300 ms each: in series that is 1.2 s at least; in parallel about 0.3 s."""
    gateway = await make_gateway(policy={"timeout_s": 2, "deadline_s": 4})
    four = ["community", "civil-affairs", "hrss", "health"]
    for department in four:
        await admin.fault(department, latency_ms=300)
    started = time.monotonic()
    body = await gateway.query(
        '{ services(first: 100, filter: {departments: ["community", "civil-affairs", "hrss", "health"]}) '
        "{ totalCount } }"
    )
    elapsed = time.monotonic() - started
    assert body["data"]["services"]["totalCount"] == len([s for s in WORLD.catalogue if s.department in four])
    assert elapsed < 0.9, f"{elapsed:.2f}s: departments were not asked in parallel"


async def test_warm_repeat_makes_no_upstream_call(
    make_gateway: GatewayFactory, admin: Admin, cache_url: str
) -> None:
    gateway = await make_gateway(cache_url=cache_url)
    await gateway.query(CATALOGUE)
    calls = await admin.requests()
    assert calls >= len(DEPARTMENTS)
    body = await gateway.query(CATALOGUE)
    assert service_ids(body) == expected_ids()
    assert await admin.requests() == calls


async def test_a_connector_bug_costs_only_its_department(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    registry = gateway.services.registry
    adapter = registry.get("tax").adapter

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the tax connector")

    monkeypatch.setattr(adapter, "run", broken)
    body = await gateway.query(CATALOGUE)
    assert service_ids(body) == expected_ids(without="tax")
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "CONNECTOR_FAILED", "department": "tax"}
    assert "a bug in the tax connector" not in str(body) and "a bug in the tax connector" in caplog.text
