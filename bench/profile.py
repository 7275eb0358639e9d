"""The load profile: throughput and latency at rising concurrency, set up as in production.

Scenarios, each with the catalogue, stations-nearby and resident home-screen queries:

* ``1 process``: one gateway on PostgreSQL (store) and Redis (cache and bus), cache warm;
* ``2 processes``: two gateways sharing that PostgreSQL database and Redis, requests round-robin;
* ``1 failing``: one gateway, no cache, one department (``--fail``) hanging: what a failing department
  costs everyone else (its breaker should keep that small once open).

Needs PostgreSQL and Redis (``--postgres-url``, ``--redis-url``); without them the first two scenarios
are skipped with a message. The benchmark makes its own database and Redis namespace and drops both.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bench.harness import (
    Processes,
    RunResult,
    Target,
    Workload,
    closed_loop,
    format_row,
    graphql,
    measure,
    set_faults,
    start_gateway,
    wait_ready,
)

BENCH_SECRET = "onestop-bench-secret-of-at-least-32-bytes"  # noqa: S105 (a loopback benchmark's)
RESIDENTS = 200  # home-screen requests cycle through this many residents' tokens
WARM_CONCURRENCY = 16
BREAKER_WAIT_S = 60.0
NEARBY = (
    "query Nearby { stations(near: {latitude: 31.2304, longitude: 121.5050}, maxWalkMinutes: 15) "
    "{ distanceMeters walkMinutes station { id name town } } }"
)
CATALOGUE = (
    "query Catalogue { services(first: 20) { totalCount edges { node "
    "{ id name nameEn category department { id } } } } }"
)
# stands in for bench/home.py's query when that module is absent
FALLBACK_HOME = (
    "query Home { me { id profile { name idNumberMasked age } "
    "eligibility { outcome service { id name } } cases { id status updatedAt } } }"
)


def resident_tokens(count: int) -> list[str]:
    """Tokens of the first ``count`` residents of the mocks' world, as the identity provider would mint."""
    from identity.principal import ClientChannel, Role
    from identity.tokens import mint
    from mocks.world import DEFAULT_SEED, build_world

    residents = build_world(DEFAULT_SEED).residents[:count]
    return [
        mint(BENCH_SECRET, r.id_number, Role.RESIDENT, channel=ClientChannel.APP, ttl_s=7200)
        for r in residents
    ]


def home_workload() -> Workload:
    """The resident home screen: bench/home.py's ``HOME`` query if it is there, else ``FALLBACK_HOME``."""
    try:
        home: Any = importlib.import_module("bench.home")
    except ImportError:
        home = None
    names = ("HOME", "HOME_QUERY", "QUERY")
    query = next((getattr(home, n) for n in names if isinstance(getattr(home, n, None), str)), None)
    tokens = resident_tokens(RESIDENTS)

    def prepare(index: int) -> tuple[dict[str, Any], dict[str, str]]:
        return {}, {"Authorization": f"Bearer {tokens[index % len(tokens)]}"}

    return Workload("home", query or FALLBACK_HOME, prepare)


def workloads() -> list[Workload]:
    return [Workload("services", CATALOGUE), Workload("stations", NEARBY), home_workload()]


# -- backends ----------------------------------------------------------------------------------------


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


@dataclass
class Backends:
    """A database and a Redis namespace of this run's own, dropped at the end."""

    postgres_admin_url: str
    redis_url: str
    database: str
    namespace: str

    @property
    def database_url(self) -> str:
        base = self.postgres_admin_url.rsplit("/", 1)[0]
        return f"{base}/{self.database}"

    def _dsn(self) -> str:
        return self.postgres_admin_url.replace("postgresql+asyncpg://", "postgresql://")

    async def create(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        connection = await asyncpg.connect(self._dsn())
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            await connection.close()

    async def drop(self) -> None:
        import asyncpg
        from redis.asyncio import Redis

        connection = await asyncpg.connect(self._dsn())
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await connection.close()
        client = Redis.from_url(self.redis_url)
        try:
            keys = [k async for k in client.scan_iter(f"{self.namespace}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


# -- scenarios ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    processes: int
    env: dict[str, str]
    fail: str | None = None  # department hanging during the scenario


def scenarios(args: argparse.Namespace, backends: Backends | None) -> list[Scenario]:
    common = {"ONESTOP_JWT_SECRET": BENCH_SECRET}
    found: list[Scenario] = []
    if backends is not None:
        shared = {
            **common,
            "ONESTOP_DATABASE_URL": backends.database_url,
            "ONESTOP_CACHE_URL": backends.redis_url,
            "ONESTOP_REDIS_URL": backends.redis_url,
            "ONESTOP_NAMESPACE": backends.namespace,
        }
        found += [Scenario("1 process", 1, shared), Scenario("2 processes", 2, shared)]
    found.append(Scenario("1 failing", 1, {**common, "ONESTOP_CACHE_URL": "none://"}, fail=args.fail))
    return found


async def warm_up(target: Target, loads: list[Workload]) -> None:
    """Every workload's requests once each (every resident's home screen), so rows measure a warm cache
    whichever scenario ran first; this also opens connections and fetches OAuth tokens."""
    for load in loads:
        count = RESIDENTS if load.prepare is not None else len(target.urls)
        await closed_loop(target.urls, load, WARM_CONCURRENCY, 300.0, count)


async def until_breaker_opens(target: Target, department: str) -> dict[str, Any]:
    """Catalogue queries until ``department``'s breaker is open: what the first minute of a hanging
    department costs. Returns how long that took and how long each query waited meanwhile."""
    waits: list[float] = []
    started = time.monotonic()
    catalogue = Workload("services", CATALOGUE)
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - started < BREAKER_WAIT_S:
            sent = time.perf_counter()
            body, headers = catalogue.request(0)
            await graphql(session, target.urls[0], body, headers)
            waits.append(round(1000 * (time.perf_counter() - sent), 1))
            async with session.get(f"{target.urls[0]}/readyz") as response:
                state = (await response.json())["departments"].get(department, {})
            if state.get("breaker") == "OPEN":
                break
    return {
        "department": department,
        "seconds_until_breaker_open": round(time.monotonic() - started, 1),
        "query_ms_until_open": waits,
        "opened": bool(waits) and time.monotonic() - started < BREAKER_WAIT_S,
    }


async def run_scenario(
    scenario: Scenario,
    processes: Processes,
    mocks_url: str,
    args: argparse.Namespace,
    data_dir: str,
    report: Callable[[RunResult], None],
) -> tuple[list[RunResult], dict[str, Any]]:
    env = dict(scenario.env)
    env.setdefault(
        "ONESTOP_DATABASE_URL", f"sqlite+aiosqlite:///{data_dir}/{scenario.name.replace(' ', '-')}.db"
    )
    names = [f"gw-{scenario.name.replace(' ', '-')}-{i}" for i in range(scenario.processes)]
    started = [start_gateway(processes, name, mocks_url, env) for name in names]
    target = Target([url for url, _ in started], mocks_url, [process for _, process in started])
    results: list[RunResult] = []
    transient: dict[str, Any] = {}
    loads = workloads()
    try:
        async with aiohttp.ClientSession() as session:
            for url, process in started:
                await wait_ready(session, f"{url}/readyz", process)
        await warm_up(target, loads)
        if scenario.fail:
            async with aiohttp.ClientSession() as session:
                await set_faults(session, mocks_url, [scenario.fail], {"hang": True})
            transient = await until_breaker_opens(target, scenario.fail)
            print(
                f"{scenario.fail} hanging: breaker open after {transient['seconds_until_breaker_open']} s; "
                f"catalogue queries meanwhile took {transient['query_ms_until_open']} ms",
                flush=True,
            )
        for load in loads:
            for concurrency in args.concurrency:
                result = await measure(
                    target, load, scenario.name, concurrency, args.duration, args.max_requests
                )
                report(result)
                results.append(result)
    finally:
        if scenario.fail:
            async with aiohttp.ClientSession() as session:
                await set_faults(session, mocks_url, [scenario.fail], {"hang": False})
        for name in names:
            processes.stop(name)
    return results, transient


def run_profile(
    processes: Processes, mocks_url: str, args: argparse.Namespace, data_dir: str
) -> tuple[list[RunResult], list[str], list[dict[str, Any]]]:
    """Every scenario; returns the rows, notes on what was skipped, and what a failure cost before its
    breaker opened."""
    notes: list[str] = []
    transients: list[dict[str, Any]] = []
    backends: Backends | None = None
    if reachable(args.postgres_url, 5432) and reachable(args.redis_url, 6379):
        backends = Backends(
            args.postgres_url, args.redis_url, f"onestop_bench_{os.getpid()}", f"onestop-bench-{os.getpid()}"
        )
        asyncio.run(backends.create())
    else:
        notes.append(
            f"1 and 2 process scenarios skipped: PostgreSQL ({args.postgres_url}) "
            f"or Redis ({args.redis_url}) not reachable"
        )
    results: list[RunResult] = []
    try:
        for scenario in scenarios(args, backends):
            rows, transient = asyncio.run(
                run_scenario(
                    scenario, processes, mocks_url, args, data_dir, lambda r: print(format_row(r), flush=True)
                )
            )
            results += rows
            if transient:
                transients.append(transient)
    finally:
        if backends is not None:
            asyncio.run(backends.drop())
    return results, notes, transients
