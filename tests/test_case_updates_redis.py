"""The issue's "done when": a subscription on one gateway process receives a status change that a
department's webhook delivered to ANOTHER process — two real uvicorn processes of server.py sharing
Redis and PostgreSQL, over the real mock server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import httpx
import pytest
from redis.asyncio import Redis

from config import PROJECT_ROOT
from mocks.server import RunningMocks
from tests.access_support import SECRET, fixture, resident_token
from tests.conftest import TEST_NAMESPACE, Admin, fresh_postgres
from tests.gateway_process import free_port
from tests.live_support import change_status, connect, housing_case, set_webhook, until

pytestmark = pytest.mark.asyncio(loop_scope="session")

START_S = 60.0  # two CPUs shared by six test runs: a cold start can take a while


@contextlib.asynccontextmanager
async def gateway_process(env: dict[str, str], log: Path) -> AsyncIterator[str]:
    """``python server.py`` on a free port; yields its base URL once /readyz says ready."""
    port = free_port()
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(PROJECT_ROOT / "server.py"),
            cwd=PROJECT_ROOT,
            env={**os.environ, **env, "ONESTOP_PORT": str(port)},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:

                async def ready() -> bool:
                    assert process.returncode is None, f"the gateway exited; see {log}"
                    try:
                        return (await client.get(f"{url}/readyz")).status_code == 200
                    except httpx.TransportError:
                        return False

                await until(ready, timeout=START_S, every=0.2)
            yield url
        finally:
            if process.returncode is None:
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await asyncio.wait_for(process.wait(), 10)


async def _listening_for_cases(redis_url: str) -> bool:
    """Some process is subscribed to a resident's case topic in this run's namespace."""
    redis = Redis.from_url(redis_url)
    try:
        channels = await redis.pubsub_channels(f"{TEST_NAMESPACE}:bus:cases.*")
    finally:
        await redis.aclose()
    return bool(channels)


async def test_a_webhook_received_by_one_process_reaches_a_subscriber_on_another(
    redis_url: str, mocks: RunningMocks, admin: Admin, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    env = {
        "ONESTOP_DATABASE_URL": await fresh_postgres(),
        "ONESTOP_REDIS_URL": redis_url,
        "ONESTOP_NAMESPACE": TEST_NAMESPACE,
        "ONESTOP_MOCKS_URL": mocks.url,
        "ONESTOP_JWT_SECRET": SECRET,
        "ONESTOP_TUNE_GC": "false",
        # polling far slower than the test: only the webhook can bring the change in time
        "ONESTOP_CASE_POLL_MIN_S": "120",
        "ONESTOP_CASE_POLL_MAX_S": "120",
    }
    case = housing_case()
    token = resident_token(fixture("non_pudong_hukou"))
    # one after the other: both would migrate the shared database at start-up
    async with gateway_process(env, tmp_path / "a.log") as a, gateway_process(env, tmp_path / "b.log") as b:
        async with connect(a, token) as ws:
            asked = (await admin.paths("housing")).get("/housing/xml/cases", 0)
            await ws.subscribe(ids=[f"housing:{case.ref}"])
            # A has fetched the baseline (so it listens on the bus) once housing was asked
            await until(lambda: _asked_since(admin, asked))
            await until(lambda: _listening_for_cases(redis_url))  # A's SUBSCRIBE has reached Redis
            await set_webhook(http, mocks.url, f"{b}/webhooks")  # the department calls B only
            answer = await change_status(http, mocks.url, "housing", case.ref, "APPROVED")
            assert answer["webhook"] == {"status": 202}
            message = await ws.next_payload(timeout=20)
            assert message["type"] == "next", message
            update = message["payload"]["data"]["caseUpdated"]
            assert update["case"]["id"] == f"housing:{case.ref}"
            assert update["case"]["status"] == "APPROVED"
            assert update["source"] == "WEBHOOK"
            assert update["previousStatus"] == "REJECTED"
            with pytest.raises(TimeoutError):  # once, not once per process
                await ws.next_payload(timeout=1.5)


async def _asked_since(admin: Admin, before: int) -> bool:
    return (await admin.paths("housing")).get("/housing/xml/cases", 0) > before
