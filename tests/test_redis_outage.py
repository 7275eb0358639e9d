"""A Redis outage, with a Redis of our own that we stop and start again under a real gateway process.

During the outage: the log stays bounded (one line per kind of failure, then a count every few seconds,
not one per failed call), requests are still answered (never a 5xx), rate limits still hold (per process),
and a signed webhook is refused with 503 + Retry-After — never accepted without its replay check. After
Redis is back: the bus listener has survived (no dead task), hears a reload published on Redis, and the
webhook replay check works again.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from config import PROJECT_ROOT
from mocks.server import RunningMocks
from store.db import create_engine, session_factory
from store.registrations import register
from tests.conftest import IN_CI, fast_policy
from tests.gateway_process import GatewayProcess, free_port, gateway_process, wait_ready
from tests.live_support import HOUSING_SECRET, housing_case, signed_headers, until, webhook_body
from tests.waiting import until_blocking

OUTAGE_REQUESTS = 150  # catalogue queries sent while Redis is down (each misses 19 departments' cache)
CONCURRENCY = 8
MAX_OUTAGE_LINES = 60  # log lines (the per-request access log aside) while Redis is down: was ~1,280 a second
QUERY = {"query": "{ services(first: 1) { totalCount } }"}


class OwnRedis:
    """A redis-server of this test's own on a free port, stopped and started by its pid."""

    def __init__(self, port: int) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed"
            pytest.fail(message) if IN_CI else pytest.skip(message)
        self.binary = str(binary)
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        until_blocking(listening, timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    redis = OwnRedis(free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def outage_lines(gateway: GatewayProcess, offset: int) -> list[str]:
    """Log lines written since ``offset``, the one-per-request access log aside."""
    text = gateway.log.read_bytes()[offset:].decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line and '"logger":"onestop.access"' not in line]


def log_settled(gateway: GatewayProcess) -> Callable[[], bool]:
    """A condition: the gateway's log has not grown over the last two looks (its writes are done)."""
    sizes: list[int] = []

    def settled() -> bool:
        sizes.append(gateway.log.stat().st_size)
        return len(sizes) >= 3 and sizes[-1] == sizes[-3]

    return settled


async def catalogue_burst(client: httpx.AsyncClient, count: int) -> Counter[int]:
    outcomes: Counter[int] = Counter()
    queue = iter(range(count))

    async def worker() -> None:
        for _ in queue:
            outcomes[(await client.post("/graphql", json=QUERY)).status_code] += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return outcomes


async def webhook(client: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/webhooks/housing", content=body, headers=headers)


async def republish_commerce(gateway_db: Path, mocks_url: str, redis_url: str) -> None:
    """What another replica does on `onestop connector register`: a new version in the store, announced
    on the bus. This gateway polls the store once an hour here, so only the bus can tell it."""
    engine = create_engine(f"sqlite+aiosqlite:///{gateway_db}")
    try:
        text = (PROJECT_ROOT / "connectors" / "specs" / "commerce.yaml").read_text(encoding="utf-8")
        await register(
            session_factory(engine), fast_policy(text), "outage-test", {"ONESTOP_MOCKS_URL": mocks_url}
        )
    finally:
        await engine.dispose()
    client = Redis.from_url(redis_url)
    try:
        # pub/sub is at-most-once: publish once this gateway's listener has subscribed again
        async def subscribed() -> bool:
            counts = await client.pubsub_numsub("onestop:bus:connectors")
            return bool(counts and counts[0][1] >= 1)

        await until(subscribed, timeout=30, every=0.1)
        await client.publish("onestop:bus:connectors", json.dumps({"department": "commerce"}))
    finally:
        await client.aclose()


async def test_a_redis_outage_is_survived_fails_closed_and_logs_a_bounded_count(
    mocks: RunningMocks, tmp_path: Path, own_redis: OwnRedis
) -> None:
    settings = {
        "redis_url": own_redis.url,
        "cache_url": own_redis.url,
        "cache_local_ttl_s": "0",  # every request asks Redis for its 19 catalogues
        "rate_limit_client": "20",
        "rate_limit_client_burst": "40",
        "reload_poll_s": "3600",
    }
    with gateway_process(mocks.url, tmp_path, **settings) as gateway:
        await asyncio.to_thread(wait_ready, gateway.url)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            assert (await client.post("/graphql", json=QUERY)).status_code == 200
            body = webhook_body(housing_case())
            signed = signed_headers(HOUSING_SECRET, body)
            assert (await webhook(client, body, signed)).status_code == 202
            assert (await webhook(client, body, signed)).json()["errors"][0]["extensions"][
                "code"
            ] == "WEBHOOK_REPLAYED"

            own_redis.stop()
            offset = gateway.log.stat().st_size
            started = time.monotonic()
            fresh = signed_headers(HOUSING_SECRET, body, int(time.time()) + 1)  # a new, valid signature
            refusals = [await webhook(client, body, fresh) for _ in range(3)]
            outcomes = await catalogue_burst(client, OUTAGE_REQUESTS)
            await until(log_settled(gateway), every=0.1)  # the last lines have reached the file
            lines = outage_lines(gateway, offset)
            seconds = time.monotonic() - started

            for refused in refusals:  # fail closed: the department is asked to send it again later
                assert refused.status_code == 503 and refused.headers["retry-after"] == "30"
                assert refused.json()["errors"][0]["extensions"]["code"] == "WEBHOOK_REPLAY_CHECK_UNAVAILABLE"
            assert set(outcomes) <= {200, 429}, outcomes  # answered from the departments, never a 5xx
            assert outcomes[200] >= 40 and outcomes[429] > 0, outcomes  # limited per process, not off
            assert len(lines) <= MAX_OUTAGE_LINES, (len(lines), seconds, lines[:20])
            assert not any("Traceback" in line or "never retrieved" in line for line in lines), lines

            own_redis.start()  # the same port: the gateway reconnects by itself
            await republish_commerce(tmp_path / "gateway.db", mocks.url, own_redis.url)

            async def commerce_reloaded() -> bool:
                state = (await client.get("/readyz")).json()["departments"]["commerce"]
                return bool(state["version"] == 2)

            await until(commerce_reloaded, timeout=30, every=0.2)  # heard on the bus after recovery
            again = signed_headers(HOUSING_SECRET, body, int(time.time()) + 2)
            assert (await webhook(client, body, again)).status_code == 202
            assert (await webhook(client, body, again)).status_code == 403  # replay refused again
    everything = gateway.log_text()
    assert "never retrieved" not in everything and "pubsub connection not set" not in everything
