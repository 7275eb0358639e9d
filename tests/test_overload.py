"""Overload: twice what a process sustains, for a few seconds — fast 503s with Retry-After, bounded
memory, full recovery. The gateway is a real process (uvicorn, sockets) over the mock departments."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from middleware.inflight import InFlight, InFlightLimit
from mocks.server import RunningMocks
from tests.conftest import SUITE_SCALE, Admin
from tests.gateway_process import GatewayProcess, gateway_process, wait_ready

IN_FLIGHT = 8
UPSTREAM_MS = 200  # each request waits this long on its department: the process sustains ~40/s
QUERY = {"query": '{ services(first: 1, filter: {departments: ["community"]}) { totalCount } }'}
BURST_S = 3.0 * SUITE_SCALE


@pytest.fixture
def gateway_proc(mocks: RunningMocks, tmp_path: Path) -> Iterator[GatewayProcess]:
    settings = {
        "cache_url": "none://",  # every request goes to the department
        "max_in_flight": str(IN_FLIGHT),
        "mode": "production",
        "digest_key": "overload-tests-digest-key",  # production refuses to start without one
        "rate_limit_client": "0",  # this test is about the in-flight limit alone
        "allow_repository_secrets": "true",  # production mode against the mocks' public credentials
    }
    with gateway_process(mocks.url, tmp_path, **settings) as process:
        yield process


@dataclass
class Outcome:
    status: int
    seconds: float
    retry_after: str | None = None


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)

    def of(self, status: int) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]


async def one(http: aiohttp.ClientSession, url: str, tally: Tally) -> None:
    started = time.perf_counter()
    async with http.post(f"{url}/graphql", json=QUERY) as response:
        body = await response.json()
        if response.status == 200:
            assert body["data"]["services"]["totalCount"] > 0 and "errors" not in body, body
        tally.outcomes.append(
            Outcome(response.status, time.perf_counter() - started, response.headers.get("retry-after"))
        )


async def sustained_rate(http: aiohttp.ClientSession, url: str, seconds: float = 1.5) -> float:
    """Requests/s with exactly the in-flight limit's worth of clients, each sending back to back."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            await one(http, url, tally)

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(IN_FLIGHT)))
    assert not tally.of(503), "no refusals at the limit itself"
    return len(tally.outcomes) / (time.monotonic() - started)


async def open_loop(http: aiohttp.ClientSession, url: str, rate: float, seconds: float) -> Tally:
    """Send at ``rate`` requests/s for ``seconds`` whatever the answers: offered load, not a closed loop."""
    tally = Tally()
    tasks = []
    started = time.monotonic()
    for n in range(int(rate * seconds)):
        # request n leaves at n / rate: the offered load's schedule is what is tested
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))  # pacing, not waiting
        tasks.append(asyncio.create_task(one(http, url, tally)))
    await asyncio.gather(*tasks)
    return tally


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=0)  # the load generator must not queue requests itself
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def test_twice_the_sustainable_rate(
    gateway_proc: GatewayProcess, admin: Admin, http: aiohttp.ClientSession
) -> None:
    url = gateway_proc.url
    await asyncio.to_thread(wait_ready, url)
    await admin.fault("community", latency_ms=UPSTREAM_MS)
    rate = await sustained_rate(http, url)
    assert 10 < rate < 3 * IN_FLIGHT / (UPSTREAM_MS / 1000), rate  # the limit, not the CPU, bounds it
    memory_before = gateway_proc.rss_bytes()

    tally = await open_loop(http, url, 2 * rate, BURST_S)

    refused, served = tally.of(503), tally.of(200)
    assert len(refused) + len(served) == len(tally.outcomes), {o.status for o in tally.outcomes}
    assert len(refused) > len(tally.outcomes) / 4 and len(served) > len(tally.outcomes) / 4
    assert all(o.retry_after == "1" for o in refused)
    latencies = sorted(o.seconds for o in refused)
    p90 = latencies[int(len(latencies) * 0.9)]
    assert p90 < 0.1, p90  # refused at once: no queue, not even the upstream's 200 ms
    assert max(o.seconds for o in served) < 2.0  # the admitted ones did not queue either
    growth = gateway_proc.rss_bytes() - memory_before
    assert growth < 30 * 1024 * 1024, growth

    await admin.clear_faults()
    recovery = Tally()
    await asyncio.gather(*(one(http, url, recovery) for _ in range(IN_FLIGHT)))
    for _ in range(10):
        await one(http, url, recovery)
    assert [o.status for o in recovery.outcomes] == [200] * (IN_FLIGHT + 10)
    assert not gateway_proc.log_problems()
    print(
        f"\nsustained {rate:.0f}/s; offered {2 * rate:.0f}/s: {len(served)} served, {len(refused)} refused, "
        f"503 p90 {p90 * 1000:.1f} ms, RSS +{growth / 1e6:.1f} MB"
    )


async def test_the_in_flight_limit_refuses_at_once_and_releases() -> None:
    gauge = InFlight(limit=2)
    release, both_in = asyncio.Event(), asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/graphql/broken":
            raise RuntimeError("boom")
        if scope["path"] != "/healthz":
            if gauge.current == 2:
                both_in.set()
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limited = InFlightLimit(app, gauge, frozenset({"/graphql", "/graphql/broken"}))
    transport = httpx.ASGITransport(app=limited, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        waiting = [asyncio.create_task(client.get("/graphql")) for _ in range(2)]
        await both_in.wait()
        started = time.perf_counter()
        refused = await client.get("/graphql")
        assert time.perf_counter() - started < 0.5
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["errors"][0]["extensions"]["code"] == "OVERLOADED"
        assert (await client.get("/healthz")).status_code == 200  # probes are never refused
        release.set()
        assert [r.status_code for r in await asyncio.gather(*waiting)] == [200, 200]
        assert gauge.current == 0 and gauge.refused == 1
        await client.get("/graphql/broken")
        assert gauge.current == 0  # released when the app raises too
