"""Migration 0010_fee_payments on SQLite and PostgreSQL: it matches the models, bills paid before it
read as BILL, a bill and a case's fee never share a live slot by accident of numbering, and it goes
back down."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from store.db import MIGRATIONS, create_engine, migrate
from store.models import Base
from store.payments import PaymentRow

ROW = (
    "INSERT INTO bill_payments (id, principal_digest, idempotency_key, resident_digest, department, "
    "bill_id, utility, period, amount_fen, state, channel, created_at, updated_at, attempts{extra}) "
    "VALUES (:id, 'p', :id, 'r', 'planning-land', 'GH-1', '', '', 100, 'CREATED', 'app', :at, :at, 0{values})"
)


def _alembic(connection: Connection, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


def _payment_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return [d for d in compare_metadata(context, Base.metadata) if PaymentRow.__tablename__ in repr(d)]


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("bill_payments")}


async def test_migration_0010_on_existing_payments_and_back(database_url: str) -> None:
    engine = create_engine(database_url)
    at = datetime.now(UTC)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_alembic, "upgrade", "0007_payments")
            await connection.execute(text(ROW.format(extra="", values="")), {"id": "OSold", "at": at})
        await migrate(engine)
        async with engine.begin() as connection:
            assert await connection.run_sync(_payment_differences) == []
            kinds = await connection.execute(text("SELECT kind, service_id FROM bill_payments"))
            assert [tuple(r) for r in kinds] == [("BILL", None)]
            fee = ROW.format(extra=", kind, service_id", values=", 'FEE', 'GH-003'")
            await connection.execute(
                text(fee), {"id": "OSfee", "at": at}
            )  # same number, other kind: live too
            await connection.execute(text("DELETE FROM bill_payments WHERE kind = 'FEE'"))
            await connection.run_sync(_alembic, "downgrade", "0009_activities")  # the one before 0010
            assert not {"kind", "service_id"} & await connection.run_sync(_columns)
            await connection.run_sync(_alembic, "upgrade", "heads")
    finally:
        await engine.dispose()
