"""The access log's hash chains: rows deleted or edited in the database itself (SQL, as an intruder or a
careless operator would) are found by ``onestop audit verify`` and by ``me { accessLogVerified }``; expiry
keeps chains verifiable; concurrent writers (two engines, as two gateway processes) never fork a chain.
On SQLite and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from access.chain import ChainKey, append, verify_all
from access.log import AccessLog
from cli.audit import _verify
from config import PROJECT_ROOT, Settings
from store.db import create_engine, migrate, session_factory
from tests.access_support import ask, fixture, resident_gateway, resident_token
from tests.conftest import TEST_DIGEST_KEY, GatewayFactory
from tests.live_support import until

KEY_SECRET = "access-chain-tests-key-of-some-length"
KEY = ChainKey(KEY_SECRET)
ALICE, BOB = "a" * 32, "b" * 32
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def row(resident: str, n: int, at: datetime | None = None) -> dict[str, Any]:
    return {
        "at": at or T0 + timedelta(minutes=n),
        "actor_digest": "c" * 32,
        "actor_role": "resident",
        "station": None,
        "resident_digest": resident,
        "data": "cases",
        "department": "housing",
        "purpose": "CASES",
        "channel": "app",
        "session_id": None,
    }


class Store:
    def __init__(self, url: str, engine: AsyncEngine) -> None:
        self.url = url
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self.log = AccessLog(self.sessions, KEY)

    async def sql(self, statement: str, **params: Any) -> Any:
        async with self.engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return result.all() if result.returns_rows else None

    async def ids(self, resident: str) -> list[int]:
        found = await self.sql(
            "SELECT id FROM access_log WHERE resident_digest = :r ORDER BY seq", r=resident
        )
        return [r[0] for r in found]

    async def verify(
        self, capsys: pytest.CaptureFixture[str], resident: str | None = None
    ) -> tuple[int, str]:
        settings = Settings(database_url=self.url, access_log_key=KEY_SECRET)
        code = await _verify(settings, resident)
        captured = capsys.readouterr()
        return code, captured.out + captured.err


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield Store(database_url, engine)
    await engine.dispose()


async def fill(store: Store, resident: str, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        await append(store.sessions, KEY, [row(resident, n)])


async def test_an_intact_log_verifies(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    await fill(store, ALICE, 5)
    await append(store.sessions, KEY, [row(BOB, 0), row(BOB, 1), row(ALICE, 9)])  # one request, two residents
    code, output = await store.verify(capsys)
    assert code == 0 and "2 residents, 8 rows" in output and "every chain verifies" in output
    assert (await store.log.verify(ALICE)).verified


async def test_a_row_deleted_in_the_database_is_detected(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    await fill(store, ALICE, 5)
    await fill(store, BOB, 3)
    ids = await store.ids(ALICE)
    await store.sql("DELETE FROM access_log WHERE id = :id", id=ids[2])
    code, output = await store.verify(capsys)
    assert code == 1 and f"resident {ALICE}: row {ids[3]} (seq 4): rows 3..3 are missing" in output
    assert BOB not in output  # the other resident's chain is untouched
    report = await store.log.verify(ALICE)
    assert not report.verified


async def test_the_last_row_deleted_is_detected(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    await fill(store, ALICE, 4)
    await store.sql("DELETE FROM access_log WHERE id = :id", id=(await store.ids(ALICE))[-1])
    code, output = await store.verify(capsys, ALICE)
    assert code == 1 and "rows 4..4 are missing (the last rows)" in output


async def test_a_row_edited_in_the_database_is_detected(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    await fill(store, ALICE, 5)
    ids = await store.ids(ALICE)
    await store.sql(
        "UPDATE access_log SET actor_role = 'staff', station = 'ZD-0001' WHERE id = :id", id=ids[1]
    )
    code, output = await store.verify(capsys, ALICE)
    assert code == 1 and f"row {ids[1]} (seq 2): content does not match its MAC (altered)" in output
    assert output.count("altered") == 1  # the rows after it still verify: the break is pinpointed


async def test_a_row_moved_to_another_resident_or_renumbered_is_detected(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    await fill(store, ALICE, 3)
    await fill(store, BOB, 3)
    ids = await store.ids(ALICE)
    await store.sql("UPDATE access_log SET resident_digest = :b, seq = 4 WHERE id = :id", b=BOB, id=ids[2])
    code, output = await store.verify(capsys)
    assert code == 1 and f"resident {ALICE}" in output and f"resident {BOB}" in output


async def test_expiry_keeps_the_chain_verifiable_and_its_anchor_sealed(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    await fill(store, ALICE, 6)
    await fill(store, BOB, 2)
    expired = await store.log.expire(T0 + timedelta(minutes=4))  # Alice's rows at minutes 0..3
    assert expired == 6 - 2 + 2  # Alice's first four and both of Bob's (minutes 0, 1)
    assert len(await store.ids(ALICE)) == 2
    assert (await store.verify(capsys))[0] == 0
    await fill(store, ALICE, 2, start=10)  # the chain goes on after expiry
    assert (await store.verify(capsys))[0] == 0
    assert await store.log.expire(T0 + timedelta(minutes=4)) == 0  # nothing more: idempotent
    # dropping the oldest kept row looks like an expiry, but the anchor says where the chain starts
    await store.sql("DELETE FROM access_log WHERE id = :id", id=(await store.ids(ALICE))[0])
    code, output = await store.verify(capsys, ALICE)
    assert code == 1 and "rows 5..5 are missing" in output
    # and moving the anchor to hide it is detected too
    await store.sql("UPDATE access_log_heads SET anchor_seq = 5 WHERE resident_digest = :r", r=ALICE)
    code, output = await store.verify(capsys, ALICE)
    assert code == 1 and "the expiry anchor was altered" in output


async def test_concurrent_writers_on_two_engines_keep_one_chain(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two engines (as two gateway processes) and many tasks append for one resident at once."""
    other = create_engine(store.url)
    try:
        engines = [store.sessions, session_factory(other)]
        writers = [append(engines[n % 2], KEY, [row(ALICE, n), row(ALICE, n + 100)]) for n in range(40)]
        await asyncio.gather(*writers)
    finally:
        await other.dispose()
    seqs = await store.sql("SELECT seq FROM access_log WHERE resident_digest = :r ORDER BY seq", r=ALICE)
    assert [s[0] for s in seqs] == list(range(1, 81))  # every row once, no fork, no gap
    assert (await store.verify(capsys))[0] == 0


async def test_rows_written_before_the_chain_are_chained_by_the_next_write(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(3):  # as migration 0006 leaves them: no seq, no mac
        await store.sql(
            "INSERT INTO access_log (at, actor_digest, actor_role, resident_digest, data, purpose, channel) "
            "VALUES (:at, 'c', 'resident', :r, 'cases', 'CASES', 'app')",
            at=T0 + timedelta(minutes=n),
            r=ALICE,
        )
    reports = [r async for r in verify_all(store.sessions, KEY)]
    assert reports[0].legacy == 3 and reports[0].verified
    await fill(store, ALICE, 1, start=5)
    seqs = await store.sql("SELECT seq FROM access_log WHERE resident_digest = :r ORDER BY id", r=ALICE)
    assert [s[0] for s in seqs] == [1, 2, 3, 4]
    assert (await store.verify(capsys))[0] == 0


async def test_the_cli_command_exits_non_zero_naming_the_broken_row(store: Store) -> None:
    """``onestop audit verify`` as an operator runs it: its own process, settings from the environment."""
    await fill(store, ALICE, 3)
    ids = await store.ids(ALICE)
    await store.sql("UPDATE access_log SET purpose = 'BILLS' WHERE id = :id", id=ids[0])
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    environ |= {"ONESTOP_DATABASE_URL": store.url, "ONESTOP_ACCESS_LOG_KEY": KEY_SECRET}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli", "audit", "verify", "--resident", ALICE],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert f"row {ids[0]} (seq 1): content does not match its MAC (altered)" in done.stdout


async def test_me_says_whether_the_access_log_verifies(make_gateway: GatewayFactory) -> None:
    gateway = await resident_gateway(make_gateway, digest_key=TEST_DIGEST_KEY)
    token = resident_token(fixture("veteran"))
    query = "{ me { accessLogVerified accessLog(first: 5) { id data } } }"
    await ask(gateway, token, "{ me { profile { name } } }")
    body = await ask(gateway, token, query)
    assert body["data"]["me"]["accessLogVerified"] is True, body
    entry = body["data"]["me"]["accessLog"][0]["id"]
    engine = gateway.services.sessions.kw["bind"]
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE access_log SET data = 'bills' WHERE id = :id"), {"id": int(entry)}
        )
    body = await ask(gateway, token, query)
    assert body["data"]["me"]["accessLogVerified"] is False


async def test_each_gateway_process_expires_past_its_retention(make_gateway: GatewayFactory) -> None:
    """The lifespan's supervised expiry task: old rows go, the chain still verifies, new rows stay."""
    gateway = await make_gateway(access_log_retention_days=30, access_log_expiry_interval_s=0.05)
    log = gateway.services.access.log
    long_ago = datetime.now(UTC) - timedelta(days=40)
    await append(log.sessions, log.key, [row(ALICE, n, long_ago + timedelta(minutes=n)) for n in range(3)])
    await append(log.sessions, log.key, [row(ALICE, 9, datetime.now(UTC))])

    async def expired() -> bool:
        return (await log.verify(ALICE)).rows == 1

    await until(expired, timeout=15)
    assert (await log.verify(ALICE)).verified
