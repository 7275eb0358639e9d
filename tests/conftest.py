"""Fixtures shared by every test: the real mock departments, gateways built on them, real backends.

Gateway tests talk HTTP to a real mock-department server on loopback and drive the real Starlette app
(lifespan included) through httpx. PostgreSQL and Redis tests use the real servers: on a developer's
machine without them they skip with a message; under CI (``CI=true``) a missing server is a failure.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from config import PROJECT_ROOT, Settings
from connectors.cache import ResponseCache
from connectors.registry import Department, Registry
from connectors.spec import parse_spec
from mocks.departments import all_departments
from mocks.server import RunningMocks, start
from server import create_app
from services import Services, services_of

HANG_LIMIT_S = 0.3
TEST_DIGEST_KEY = "onestop-tests-digest-key"  # production gateways refuse to start without a digest key
SPECS = PROJECT_ROOT / "connectors" / "specs"
POSTGRES_URL = os.environ.get(
    "ONESTOP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("ONESTOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# The fuzz, fault-load and overload suites run short in `make test`; `make bench` runs them again with
# ONESTOP_SUITE_SCALE=5 (five times the examples, requests and burst time; fuzzing then randomized).
SUITE_SCALE = max(1, int(os.environ.get("ONESTOP_SUITE_SCALE", "1")))
# every department the mocks serve; each has a bundled spec of the same id
DEPARTMENT_IDS = frozenset(d.id for d in all_departments())


# -- the mock departments ------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def mock_server() -> AsyncIterator[RunningMocks]:
    running = await start(port=0, hang_limit_s=HANG_LIMIT_S)
    try:
        yield running
    finally:
        await running.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest_asyncio.fixture
async def mocks(mock_server: RunningMocks, http: aiohttp.ClientSession) -> AsyncIterator[RunningMocks]:
    """The shared server with faults, stats and tokens reset, before and after the test."""
    async with http.post(f"{mock_server.url}/_admin/reset") as response:
        assert response.status == 200
    yield mock_server
    async with http.post(f"{mock_server.url}/_admin/reset") as response:
        assert response.status == 200


@dataclass
class Admin:
    """The mock departments' admin API: faults and request counts."""

    url: str
    http: aiohttp.ClientSession

    async def fault(self, department: str, **fault: Any) -> None:
        async with self.http.put(f"{self.url}/_admin/faults/{department}", json=fault) as response:
            assert response.status == 200, await response.text()

    async def clear_faults(self) -> None:
        async with self.http.delete(f"{self.url}/_admin/faults") as response:
            assert response.status == 200

    async def requests(self, department: str | None = None) -> int:
        async with self.http.get(f"{self.url}/_admin/stats") as response:
            stats = await response.json()
        if department is not None:
            return int(stats.get(department, {}).get("requests", 0))
        return sum(int(s["requests"]) for s in stats.values())

    async def paths(self, department: str) -> dict[str, int]:
        async with self.http.get(f"{self.url}/_admin/stats") as response:
            stats = await response.json()
        return dict(stats.get(department, {}).get("paths", {}))


@pytest_asyncio.fixture
async def admin(mocks: RunningMocks, http: aiohttp.ClientSession) -> Admin:
    return Admin(mocks.url, http)


# -- specs and gateways --------------------------------------------------------------------------


def fast_policy(text: str, **overrides: Any) -> str:
    """A spec with test-sized timeouts so fault tests take a second, not a minute."""
    policy = {
        "timeout_s": 0.5,
        "deadline_s": 1.5,
        "retries": 1,
        "backoff_s": 0.01,
        "breaker_failures": 3,
        "breaker_reset_s": 0.5,
        "concurrency": 16,
    } | overrides
    line = "policy: {" + ", ".join(f"{k}: {v}" for k, v in policy.items()) + "}"
    return re.sub(r"^policy:.*$", "", text, flags=re.MULTILINE).rstrip("\n") + f"\n{line}\n"


def write_specs(directory: Path, edit: Callable[[str, str], str] | None = None) -> Path:
    """Copy the bundled specs into ``directory``, passing each through ``edit(department_file, text)``."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in SPECS.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        (directory / path.name).write_text(edit(path.stem, text) if edit else text, encoding="utf-8")
    return directory


@dataclass
class Gateway:
    app: Starlette
    client: httpx.AsyncClient

    @property
    def services(self) -> Services:
        """The app's parts, typed (services.py): ``gateway.services.registry``, ``.sessions``, ..."""
        return services_of(self.app)

    async def query(
        self, query: str, variables: dict[str, Any] | None = None, **headers: str
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or None
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest_asyncio.fixture
async def make_gateway(tmp_path: Path, mocks: RunningMocks) -> AsyncIterator[GatewayFactory]:
    """Build gateways over the mocks; each gets its own store, cache and connectors unless told."""
    stack: list[tuple[Any, httpx.AsyncClient]] = []

    async def build(
        edit: Callable[[str, str], str] | None = None, policy: dict[str, Any] | None = None, **settings: Any
    ) -> Gateway:
        """``edit(department, text)`` changes bundled specs; ``policy`` overrides the fast test policy."""

        def prepare(department: str, text: str) -> str:
            return fast_policy(edit(department, text) if edit else text, **(policy or {}))

        values: dict[str, Any] = {
            "database_url": f"sqlite+aiosqlite:///{tmp_path / f'gw{len(stack)}.db'}",
            "mocks_url": mocks.url,
            "namespace": TEST_NAMESPACE,
            "specs_dir": write_specs(tmp_path / f"specs{len(stack)}", prepare),
            # whole answers kept (schema/response_cache.py) would hide execution from tests of it:
            # tests of the response cache turn it on
            "response_cache": False,
        } | settings
        if values.get("mode") == "production":
            values.setdefault("digest_key", TEST_DIGEST_KEY)
        app = create_app(Settings(**values))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://onestop.test")
        stack.append((lifespan, client))
        return Gateway(app, client)

    yield build
    for lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


@pytest_asyncio.fixture
async def gateway(make_gateway: GatewayFactory) -> Gateway:
    return await make_gateway()


Connect = Callable[..., Department]


@pytest_asyncio.fixture
async def connect(mocks: RunningMocks) -> AsyncIterator[Connect]:
    """One department's connector over the mocks, straight from its bundled spec, cache off.

    ``connect("hrss", edit=lambda text: ..., HRSS_CLIENT_SECRET="wrong")`` edits the spec text and
    sets spec variables first.
    """
    registry = Registry(ResponseCache("none://"))

    def build(department: str, edit: Callable[[str], str] = lambda t: t, **environ: str) -> Department:
        text = edit((SPECS / f"{department}.yaml").read_text(encoding="utf-8"))
        spec = parse_spec(text, {"ONESTOP_MOCKS_URL": mocks.url, **environ})
        registry.load([(spec, 1)])
        found = registry.get(spec.id)
        assert found is not None
        return found

    yield build
    await registry.close()


# -- real backends -------------------------------------------------------------------------------


async def _reachable(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True


async def require_server(name: str, host: str, port: int) -> None:
    if await _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if IN_CI:
        pytest.fail(f"{message}; CI must run these tests (.ci/run starts it)")
    pytest.skip(f"{message}; start it to run this test (see README, 'Tests')")


# Each pytest run has its own PostgreSQL database and Redis namespace, so two runs on one machine (two
# developers' sessions, or CI beside a developer) never empty each other's tables or keys.
RUN_ID = f"{os.getpid()}"
TEST_NAMESPACE = f"onestop-test-{RUN_ID}"
_PG_BASE, _, _PG_DEFAULT_DB = POSTGRES_URL.rpartition("/")
RUN_DATABASE = f"onestop_test_{RUN_ID}"
RUN_POSTGRES_URL = f"{_PG_BASE}/{RUN_DATABASE}"
_pg_created = False


def _asyncpg_dsn(database: str) -> str:
    return f"{_PG_BASE}/{database}".replace("postgresql+asyncpg://", "postgresql://")


async def _create_run_database() -> None:
    """This run's database, created once; databases left by runs whose process is gone are dropped."""
    global _pg_created
    if _pg_created:
        return
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(_PG_DEFAULT_DB))
    try:
        query = "SELECT datname FROM pg_database WHERE datname LIKE 'onestop_test_%'"
        for row in await connection.fetch(query):
            name = row["datname"]
            pid = name.rsplit("_", 1)[-1]
            if name == RUN_DATABASE or (pid.isdigit() and not _alive(int(pid))):
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{RUN_DATABASE}"')
    finally:
        await connection.close()
    _pg_created = True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def drop_run_database() -> None:
    if not _pg_created:
        return
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(_PG_DEFAULT_DB))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)')
    finally:
        await connection.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _pg_created:
        asyncio.run(drop_run_database())


async def fresh_postgres() -> str:
    """PostgreSQL: this run's own database, emptied of every table, so each test starts from migrations."""
    await require_server("PostgreSQL", "127.0.0.1", 5432)
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    await _create_run_database()
    engine = create_async_engine(RUN_POSTGRES_URL)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return RUN_POSTGRES_URL


async def fresh_redis() -> str:
    """Redis, emptied of Onestop's keys."""
    await require_server("Redis", "127.0.0.1", 6379)
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        keys = await client.keys(f"{TEST_NAMESPACE}:*")
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
    return REDIS_URL


@pytest_asyncio.fixture
async def redis_url() -> str:
    return await fresh_redis()


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    return await fresh_postgres()


@pytest_asyncio.fixture(params=["memory", "redis"])
async def cache_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    return await fresh_redis()
