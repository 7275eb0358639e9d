"""Done-when of onboarding: two real gateway processes over one database; one CLI call registers a
department neither has seen, and both serve it within 5 s — by polling the store (SQLite, PostgreSQL)
and by Redis pub/sub (polling slowed to a minute, so only the message can be in time). A broken spec is
refused naming its line; ``rollback`` brings the previous version back on both."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from config import PROJECT_ROOT
from mocks.server import RunningMocks
from tests.conftest import TEST_NAMESPACE, fresh_postgres, fresh_redis
from tests.gateway_process import wait_healthy
from tests.onboarding_support import (
    ARCHIVES_IDS,
    DEPARTMENTS,
    EXAMPLE,
    SECRET,
    SERVICES,
    archive_ids,
    token,
    version_two,
)
from tests.waiting import until

START_TIMEOUT_S = 60.0
VISIBLE_WITHIN_S = 5.0


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    url: str


async def spawn(module: str, env: dict[str, str], *args: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``python -m module``; its first line of output says where it listens."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args, cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), START_TIMEOUT_S)
    return proc, line.decode().strip()


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@asynccontextmanager
async def department_and_gateways(
    mocks: RunningMocks, database_url: str, redis_url: str | None, poll_s: float, tmp_path: Path
) -> AsyncIterator[tuple[str, list[str]]]:
    archives, line = await spawn("mocks.extra.archives", dict(os.environ), "--port", "0")
    archives_url = line.removeprefix("archives mock at ")
    env = dict(os.environ) | {
        "ONESTOP_DATABASE_URL": database_url,
        "ONESTOP_MOCKS_URL": mocks.url,
        "ONESTOP_JWT_SECRET": SECRET,
        "ONESTOP_NAMESPACE": f"{TEST_NAMESPACE}-{tmp_path.name}",
        "ONESTOP_RELOAD_POLL_S": str(poll_s),
        "ONESTOP_TUNE_GC": "false",
        "ARCHIVES_URL": archives_url,
    }
    if redis_url is not None:
        env["ONESTOP_REDIS_URL"] = redis_url
    gateways: list[asyncio.subprocess.Process] = []
    try:
        started = await asyncio.gather(*(spawn("tests.gateway_on_free_port", env) for _ in range(2)))
        gateways = [proc for proc, _ in started]
        urls = [f"http://127.0.0.1:{port}" for _, port in started]
        await asyncio.gather(*(wait_healthy(url) for url in urls))
        yield archives_url, urls
    finally:
        await asyncio.gather(*(stop(p) for p in (*gateways, archives)))


async def cli(*args: str) -> tuple[int, str, str]:
    """One ``onestop`` CLI call, as department IT would type it."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "connector",
        *args,
        cwd=PROJECT_ROOT,
        env=dict(os.environ) | {"ONESTOP_TOKEN": token()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def query(url: str, document: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{url}/graphql", json={"query": document})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def within(
    seconds: float, urls: list[str], document: str, seen: Callable[[dict[str, Any]], bool]
) -> float:
    """How long until ``seen`` holds on every gateway; fails past ``seconds``."""
    started = time.monotonic()
    pending = set(urls)

    async def served_everywhere() -> bool:
        for url in list(pending):
            if seen(await query(url, document)):
                pending.discard(url)
        return not pending

    try:
        await until(served_everywhere, timeout=seconds)
    except TimeoutError:
        pytest.fail(f"not served within {seconds}s by {sorted(pending)}")
    return time.monotonic() - started


def archives_version(body: dict[str, Any]) -> tuple[str, int] | None:
    found = [
        (d["nameEn"], d["connectorVersion"]) for d in body["data"]["departments"] if d["id"] == "archives"
    ]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("store", "trigger"), [("sqlite", "poll"), ("postgresql", "poll"), ("postgresql", "redis")]
)
async def test_one_cli_call_serves_a_new_department_on_every_gateway(
    mocks: RunningMocks, tmp_path: Path, store: str, trigger: str
) -> None:
    database_url = (
        f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}" if store == "sqlite" else await fresh_postgres()
    )
    redis_url = await fresh_redis() if trigger == "redis" else None
    poll_s = 60.0 if trigger == "redis" else 0.5  # with Redis only the pub/sub message can be in time
    spec = tmp_path / "archives.yaml"
    spec.write_text(EXAMPLE, encoding="utf-8")
    async with department_and_gateways(mocks, database_url, redis_url, poll_s, tmp_path) as (_, urls):
        for url in urls:
            assert archive_ids(await query(url, SERVICES)) == set()

        code, out, err = await cli("register", str(spec), "--url", urls[0])
        assert code == 0, err
        assert "archives v1 registered and ACTIVE" in out
        assert "[ok  ] catalog: 4 records" in out
        await within(VISIBLE_WITHIN_S, urls, SERVICES, lambda body: archive_ids(body) == ARCHIVES_IDS)

        spec.write_text(version_two(), encoding="utf-8")
        code, out, err = await cli("register", str(spec), "--url", urls[1])  # on the other process
        assert code == 0, err
        await within(
            VISIBLE_WITHIN_S,
            urls,
            DEPARTMENTS,
            lambda b: archives_version(b) == ("Pudong District Archives", 2),
        )

        broken = version_two().replace("  catalog:\n", "  catalog:\n    metod: GET\n")
        spec.write_text(broken, encoding="utf-8")
        code, out, err = await cli("register", str(spec), "--url", urls[0])
        line = broken.splitlines().index("    metod: GET") + 1
        assert code == 1 and f"line {line}, column 5: operations.catalog.metod: unknown key 'metod'" in err

        code, out, err = await cli("rollback", "archives", "--url", urls[1])
        assert (code, out.strip()) == (
            0,
            "archives: v1 is ACTIVE again; every gateway process serves it within seconds",
        )
        await within(
            VISIBLE_WITHIN_S, urls, DEPARTMENTS, lambda b: archives_version(b) == ("District Archives", 1)
        )
        for url in urls:  # and the other nineteen are still there
            assert len((await query(url, DEPARTMENTS))["data"]["departments"]) == 20
