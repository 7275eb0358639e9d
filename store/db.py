"""The database engine and session factory, and bringing the schema up to date at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, CursorResult, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # a writer waits up to 15 s for another instead of failing at once with "database is locked"
        return create_async_engine(url, connect_args={"timeout": 15})
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE touched: how conditional writes (``… WHERE booked < capacity``) tell
    whether they won."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


# Any constant: gateway replicas starting together take turns migrating instead of racing.
_MIGRATION_LOCK = 0x0E5709


async def migrate(engine: AsyncEngine) -> None:
    """Run Alembic migrations to head on the given engine (idempotent; safe on every start)."""
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        elif engine.dialect.name == "sqlite":
            # take SQLite's write lock first: the others wait (busy timeout) and then find it done
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        await connection.run_sync(_upgrade)
