"""Connector versions in the store, on SQLite and PostgreSQL: drafts, re-activation, disable/enable,
one active version per department even when changes race, and migration 0005 on existing rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store.db import MIGRATIONS, create_engine, migrate, session_factory
from store.models import ConnectorRegistration
from store.registrations import (
    RegistrationError,
    activate_version,
    active_versions,
    previous_version,
    register,
    set_enabled,
    versions,
)
from tests.onboarding_support import EXAMPLE, version_two

ENV = {"ARCHIVES_URL": "http://127.0.0.1:9"}


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    await migrate(engine)
    return session_factory(engine)


async def states(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[int, str, bool]]:
    return [(r.version, r.status, r.active) for r in await versions(sessions, "archives")]


async def test_drafts_reactivation_and_disable(sessions: async_sessionmaker[AsyncSession]) -> None:
    await register(sessions, EXAMPLE, "it", ENV)
    await register(sessions, version_two(), "it", ENV, activate=False)
    assert await states(sessions) == [(1, "active", True), (2, "draft", False)]
    await activate_version(sessions, "archives", 2)  # a draft put live later
    assert await states(sessions) == [(1, "inactive", False), (2, "active", True)]
    await register(sessions, version_two().replace("300", "60"), "it", ENV, activate=False)
    assert await previous_version(sessions, "archives") == 1  # drafts are not rollback targets
    await set_enabled(sessions, "archives", False)
    assert await states(sessions) == [(1, "inactive", False), (2, "disabled", False), (3, "draft", False)]
    assert "archives" not in await active_versions(sessions)
    with pytest.raises(RegistrationError):
        await set_enabled(sessions, "archives", False)
    await set_enabled(sessions, "archives", True)
    assert (await active_versions(sessions))["archives"] == 2
    await set_enabled(sessions, "archives", False)
    await register(sessions, EXAMPLE.replace("300", "30"), "it", ENV)  # registering while disabled
    assert await states(sessions) == [
        (1, "inactive", False),
        (2, "inactive", False),
        (3, "draft", False),
        (4, "active", True),
    ]
    with pytest.raises(RegistrationError):
        await activate_version(sessions, "archives", 9)


async def test_racing_registrations_leave_one_active_version(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await register(sessions, EXAMPLE, "it", ENV)
    texts = [EXAMPLE.replace("cache_ttl_s: 300", f"cache_ttl_s: {n}") for n in range(1, 6)]
    results = await asyncio.gather(*(register(sessions, t, "it", ENV) for t in texts), return_exceptions=True)
    assert all(r is None or isinstance(r, (ConnectorRegistration, IntegrityError)) for r in results), results
    rows = await versions(sessions, "archives")
    assert [r.version for r in rows] == list(range(1, len(rows) + 1))  # no gaps, no duplicates
    assert len([r for r in rows if r.active]) == 1
    assert len(rows) == 1 + len([r for r in results if isinstance(r, ConnectorRegistration)])


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_migration_0005_gives_existing_versions_their_status(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_to, "0001")
        for version, active in ((1, False), (2, True)):
            await connection.execute(
                text(
                    "INSERT INTO connector_registrations (department, version, spec, fingerprint, active,"
                    " registered_by, registered_at) VALUES ('archives', :v, 'x', 'f', :a, 'seed', :at)"
                ),
                {"v": version, "a": active, "at": datetime.now(UTC)},
            )
    await migrate(engine)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(ConnectorRegistration.version, ConnectorRegistration.status).order_by(
                    ConnectorRegistration.version
                )
            )
        ).all()
        assert [tuple(r) for r in rows] == [(1, "inactive"), (2, "active")]
        audit = await connection.execute(text("SELECT count(*) FROM connector_audit"))
        assert audit.scalar() == 0
