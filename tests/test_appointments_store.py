"""The 0003_appointments migration builds exactly the tables the models describe, on SQLite and
PostgreSQL (indexes, constraints and columns), and the database itself refuses an over-booked slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, update
from sqlalchemy.exc import IntegrityError

from store.applications import SubmissionRow
from store.appointments import AppointmentRow, SlotRow
from store.db import create_engine, migrate, session_factory
from store.models import Base

TABLES = {SlotRow.__tablename__, AppointmentRow.__tablename__, SubmissionRow.__tablename__}


def _table_of(diff: Any) -> str | None:
    if isinstance(diff, list):  # modifications come as a list of tuples about one column
        return _table_of(diff[0])
    for part in diff[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, str) and part in TABLES:
            return part
        if name in TABLES:
            return str(name)
    return None


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in TABLES]


async def test_migration_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_the_database_refuses_an_overbooked_slot(database_url: str) -> None:
    """Even a buggy writer cannot book past capacity: CHECK (booked <= capacity)."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        start = datetime.now(UTC) + timedelta(days=1)
        row = {
            "station_id": "ZD-0001",
            "service_id": "GH-003",
            "starts_at": start,
            "ends_at": start + timedelta(minutes=30),
            "capacity": 1,
            "booked": 1,
        }
        async with sessions.begin() as session:
            await session.execute(insert(SlotRow), [row])
        with pytest.raises(IntegrityError):
            async with sessions.begin() as session:
                await session.execute(update(SlotRow).values(booked=SlotRow.booked + 1))
    finally:
        await engine.dispose()
