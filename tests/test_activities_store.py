"""The activity book on SQLite and PostgreSQL: never over capacity, a waiting list in order, one active
sign-up per resident, a freed place handed to the first waiting exactly once — under concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, update
from sqlalchemy.exc import IntegrityError

from store.activities import CANCELLED, HOST_STATION, SIGNED_UP, WAITING, ActivityRow, SignUpRow
from store.activity_book import ActivityBook, ActivityError, NewActivity, Signer
from store.db import MIGRATIONS, create_engine, migrate, session_factory
from store.models import Base

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def book(database_url: str) -> AsyncIterator[ActivityBook]:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        yield ActivityBook(session_factory(engine))
    finally:
        await engine.dispose()


def new_activity(places: int, station: str = "ZD-0001", starts_in_h: float = 24) -> NewActivity:
    start = NOW + timedelta(hours=starts_in_h)
    return NewActivity(
        station, "插花", "Flower arranging", "CULTURAL", HOST_STATION, None, None,
        start, start + timedelta(hours=2), places, "staff-digest",
    )  # fmt: skip


def signer(n: int) -> Signer:
    return Signer(f"resident-{n:04d}", f"resident-{n:04d}", None, "app")


async def test_100_concurrent_sign_ups_for_10_places(book: ActivityBook) -> None:
    activity = await book.create(new_activity(10), NOW)
    results = await asyncio.gather(*(book.sign_up(activity.id, signer(n), NOW) for n in range(100)))
    assert Counter(r.status for r in results) == {SIGNED_UP: 10, WAITING: 90}
    after = await book.get(activity.id)
    assert after is not None and after.taken == 10 and after.available == 0
    rows = await book.sign_ups_of_activity(activity.id)
    assert sorted(r.position for r in rows) == list(range(1, 101))  # every arrival numbered once
    # the waiting list is in order of arrival: everyone waiting came after everyone signed up
    assert max(r.position for r in rows if r.status == SIGNED_UP) < min(
        r.position for r in rows if r.status == WAITING
    )
    assert sorted(r.waiting_ahead for r in results if r.status == WAITING) == list(range(90))  # type: ignore[type-var]


async def test_one_active_sign_up_per_resident(book: ActivityBook) -> None:
    activity = await book.create(new_activity(5), NOW)
    results = await asyncio.gather(
        *(book.sign_up(activity.id, signer(1), NOW) for _ in range(10)), return_exceptions=True
    )
    codes = Counter(r.code if isinstance(r, ActivityError) else r.status for r in results)  # type: ignore[union-attr]
    assert codes == {SIGNED_UP: 1, "ALREADY_SIGNED_UP": 9}
    after = await book.get(activity.id)
    assert after is not None and after.taken == 1  # the refused ones took no place
    first = next(r for r in results if not isinstance(r, BaseException))
    assert isinstance(first, type(first)) and not isinstance(first, BaseException)
    await book.cancel(first.id, "resident-0001", NOW)
    again = await book.sign_up(activity.id, signer(1), NOW)  # after a cancel, signing up again is fine
    assert again.status == SIGNED_UP


async def test_racing_cancels_promote_the_first_waiting_once(book: ActivityBook) -> None:
    activity = await book.create(new_activity(3), NOW)
    ups = [await book.sign_up(activity.id, signer(n), NOW) for n in range(8)]
    assert [u.status for u in ups] == [SIGNED_UP] * 3 + [WAITING] * 5
    # the same sign-up cancelled 10 times at once: one cancel, one promotion
    results = await asyncio.gather(
        *(book.cancel(ups[0].id, "resident-0000", NOW) for _ in range(10)), return_exceptions=True
    )
    codes = Counter(r.code if isinstance(r, ActivityError) else r.status for r in results)  # type: ignore[union-attr]
    assert codes == {CANCELLED: 1, "ALREADY_CANCELLED": 9}
    rows = {r.id: r for r in await book.sign_ups_of_activity(activity.id)}
    assert rows[ups[3].id].status == SIGNED_UP and rows[ups[3].id].promoted_at == NOW
    assert [rows[u.id].status for u in ups[4:]] == [WAITING] * 4
    # two different places freed at once: the next two waiting, in order, each once
    await asyncio.gather(
        book.cancel(ups[1].id, "resident-0001", NOW), book.cancel(ups[2].id, "resident-0002", NOW)
    )
    rows = {r.id: r for r in await book.sign_ups_of_activity(activity.id)}
    assert [rows[u.id].status for u in ups[3:]] == [SIGNED_UP] * 3 + [WAITING] * 2
    after = await book.get(activity.id)
    assert after is not None and after.taken == 3
    # a waiting sign-up cancelled frees no place
    await book.cancel(ups[7].id, "resident-0007", NOW)
    after = await book.get(activity.id)
    assert after is not None and after.taken == 3


async def test_cancel_with_nobody_waiting_gives_the_place_back(book: ActivityBook) -> None:
    activity = await book.create(new_activity(2), NOW)
    up = await book.sign_up(activity.id, signer(1), NOW)
    await book.cancel(up.id, "resident-0001", NOW)
    after = await book.get(activity.id)
    assert after is not None and after.taken == 0


async def test_refusals(book: ActivityBook) -> None:
    activity = await book.create(new_activity(2, starts_in_h=1), NOW)
    up = await book.sign_up(activity.id, signer(1), NOW)
    with pytest.raises(ActivityError) as caught:
        await book.cancel(up.id, "resident-0002", NOW)  # somebody else's
    assert caught.value.code == "NOT_FOUND"
    later = NOW + timedelta(hours=2)
    with pytest.raises(ActivityError) as caught:
        await book.sign_up(activity.id, signer(3), later)
    assert caught.value.code == "ACTIVITY_STARTED"
    with pytest.raises(ActivityError) as caught:
        await book.cancel(up.id, "resident-0001", later)
    assert caught.value.code == "ACTIVITY_STARTED"
    with pytest.raises(ActivityError) as caught:
        await book.sign_up("nope", signer(3), NOW)
    assert caught.value.code == "NOT_FOUND"


async def test_upcoming_for_a_page_of_stations_in_one_query(book: ActivityBook) -> None:
    for hours in (30, 10, 20, 40):
        await book.create(new_activity(5, "ZD-0001", hours), NOW)
    await book.create(new_activity(5, "ZD-0002", 5), NOW)
    await book.create(new_activity(5, "ZD-0002", -1), NOW)  # started: not upcoming
    found = await book.upcoming(["ZD-0001", "ZD-0002", "ZD-0003"], NOW, per_station=3)
    assert [a.starts_at - NOW for a in found["ZD-0001"]] == [timedelta(hours=h) for h in (10, 20, 30)]
    assert len(found["ZD-0002"]) == 1 and found["ZD-0003"] == []


TABLES = {ActivityRow.__tablename__, SignUpRow.__tablename__}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return [d for d in compare_metadata(context, Base.metadata) if _mentions(d, TABLES)]


def _mentions(diff: Any, tables: set[str]) -> bool:
    return any(name in repr(diff) for name in tables)


def _downgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.downgrade(config, "0007_payments")


async def test_migration_matches_the_models_and_goes_down_and_up(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade)
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert not names & TABLES
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_the_database_refuses_an_activity_over_capacity(book: ActivityBook) -> None:
    """Even a buggy writer cannot take more places than there are: CHECK (taken <= capacity)."""
    activity = await book.create(new_activity(1), NOW)
    await book.sign_up(activity.id, signer(1), NOW)
    with pytest.raises(IntegrityError):
        async with book.sessions.begin() as session:
            await session.execute(update(ActivityRow).values(taken=ActivityRow.taken + 1))
