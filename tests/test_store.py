"""The store on SQLite and PostgreSQL: migrations, versioned registrations, one active version."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store.db import create_engine, migrate, session_factory
from store.models import ConnectorRegistration
from store.registrations import active_specs, register, seed_from_directory
from tests.conftest import DEPARTMENT_IDS, SPECS, GatewayFactory

COMMERCE = (SPECS / "commerce.yaml").read_text(encoding="utf-8")
ENV = {"ONESTOP_MOCKS_URL": "http://127.0.0.1:9"}


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[ConnectorRegistration]:
    async with sessions() as session:
        query = select(ConnectorRegistration).order_by(
            ConnectorRegistration.department, ConnectorRegistration.version
        )
        return list((await session.scalars(query)).all())


async def test_migrations_are_idempotent(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await migrate(engine)  # a second start must not fail or change anything
    assert await rows(sessions) == []


async def test_each_registration_is_a_new_version_and_the_only_active_one(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await register(sessions, COMMERCE, "it@commerce", ENV)
    second = await register(
        sessions, COMMERCE.replace("cache_ttl_s: 300", "cache_ttl_s: 60"), "it@commerce", ENV
    )
    assert (first.version, second.version) == (1, 2)
    stored = await rows(sessions)
    assert [(r.version, r.active, r.registered_by) for r in stored] == [
        (1, False, "it@commerce"),
        (2, True, "it@commerce"),
    ]
    assert "${ONESTOP_MOCKS_URL" in stored[1].spec  # stored as written: variables (and secrets) unexpanded
    (active,) = await active_specs(sessions, ENV)
    assert active.version == 2 and active.spec.operations["catalog"].cache_ttl_s == 60


async def test_the_database_refuses_two_active_versions(sessions: async_sessionmaker[AsyncSession]) -> None:
    await register(sessions, COMMERCE, "seed", ENV)
    with pytest.raises(IntegrityError):
        async with sessions.begin() as session:
            first = (await rows(sessions))[0]
            session.add(
                ConnectorRegistration(
                    department="commerce",
                    version=9,
                    spec=first.spec,
                    fingerprint="x",
                    active=True,
                    registered_by="rogue",
                    registered_at=first.registered_at,
                )
            )


async def test_a_bad_spec_writes_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValidationError):
        await register(sessions, COMMERCE.replace("kind: xml", "kind: yaml"), "it", ENV)
    assert await rows(sessions) == []


async def test_a_spec_that_no_longer_loads_is_skipped_not_fatal(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    await register(sessions, COMMERCE, "it", ENV)
    hrss = (
        (SPECS / "hrss.yaml")
        .read_text(encoding="utf-8")
        .replace("${HRSS_CLIENT_SECRET:-hrss-secret}", "${HRSS_SECRET}")
    )
    await register(sessions, hrss, "it", ENV | {"HRSS_SECRET": "s"})
    with caplog.at_level(logging.ERROR):
        active = await active_specs(sessions, ENV)  # HRSS_SECRET is gone from this environment
    assert [a.spec.id for a in active] == ["commerce"]
    assert "hrss v1 does not load" in caplog.text and "HRSS_SECRET" in caplog.text


async def test_seeding_registers_only_unknown_departments(sessions: async_sessionmaker[AsyncSession]) -> None:
    await register(sessions, COMMERCE.replace("cache_ttl_s: 300", "cache_ttl_s: 5"), "it@commerce", ENV)
    seeded = await seed_from_directory(sessions, SPECS, ENV)
    assert "commerce" not in seeded and len(seeded) == len(list(SPECS.glob("*.yaml"))) - 1
    assert await seed_from_directory(sessions, SPECS, ENV) == []  # a restart seeds nothing
    by_department = {a.spec.id: a for a in await active_specs(sessions, ENV)}
    assert by_department["commerce"].spec.operations["catalog"].cache_ttl_s == 5  # IT's version stands


async def test_two_processes_seeding_at_once_agree(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        await migrate(engines[0])
        await asyncio.gather(*(seed_from_directory(session_factory(e), SPECS, ENV) for e in engines))
        async with session_factory(engines[0])() as session:
            count = await session.scalar(select(func.count()).select_from(ConnectorRegistration))
        assert count == len(list(SPECS.glob("*.yaml")))
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_gateway_runs_on_each_database(
    make_gateway: GatewayFactory, database_url: str, tmp_path: Path
) -> None:
    gateway = await make_gateway(database_url=database_url)
    body = await gateway.query("{ departments { id connectorVersion } services(first: 1) { totalCount } }")
    assert len(body["data"]["departments"]) == len(DEPARTMENT_IDS)
    assert body["data"]["services"]["totalCount"] > 0
    ready = await gateway.client.get("/readyz")
    assert ready.json()["store"] == "ok"


async def test_replicas_migrating_at_once_do_not_collide(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(migrate(e) for e in engines))
        assert await rows(session_factory(engines[0])) == []
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_broken_bundled_spec_is_skipped_and_named(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "commerce.yaml").write_text(COMMERCE, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(
        COMMERCE.replace("id: commerce", "id: broken\nfromat: x"), encoding="utf-8"
    )
    with caplog.at_level(logging.ERROR):
        assert await seed_from_directory(sessions, tmp_path, ENV) == ["commerce"]
    assert "broken.yaml is not valid" in caplog.text and "fromat" in caplog.text
