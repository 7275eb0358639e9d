"""The fleet on this machine: three real gateway processes (``python server.py``) over PostgreSQL and
Redis, behind HAProxy run from ``deploy/haproxy.cfg`` itself, over the mock departments. Under steady
load through HAProxy (catalogue queries by GET and POST, appointment reservations, application
submissions with idempotency keys, and caseUpdated subscriptions over graphql-transport-ws that
reconnect when closed), each replica is restarted in turn (SIGTERM, drain, exit, start, ready), one
is killed with SIGKILL, and a connector change is registered through HAProxy.

Counted per phase: failed requests (0 for the rolling restart and the connector change; for SIGKILL at
most the requests that killed replica had in flight), subscription reconnections (each within a
second, and every subscription still receives updates after each phase), double bookings and
duplicate submissions in the store and at the department (0). ``ONESTOP_SUITE_SCALE`` lengthens the
steady phases (``make bench``)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from config import PROJECT_ROOT
from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.server import RunningMocks
from tests.access_support import SECRET, fixture, resident_token
from tests.appointments_support import RESERVE, SERVICE, SLOTS, STATION, error_codes, next_weekday, residents
from tests.conftest import (
    SUITE_SCALE,
    TEST_NAMESPACE,
    Admin,
    fast_policy,
    fresh_postgres,
    fresh_redis,
    write_specs,
)
from tests.fleet_support import Balancer, Replica
from tests.gateway_process import free_port
from tests.live_support import connect, housing_case, set_webhook
from tests.tools import haproxy

pytestmark = pytest.mark.asyncio(loop_scope="session")

DRAIN_S = 1.5  # > HAProxy's inter (100 ms) x fall (2) + a check's time: out of rotation before closing
STEADY_S = 1.0 * SUITE_SCALE  # load between phases
RECONNECT_WITHIN_S = 1.0
SUBSCRIBERS = 3
CATALOGUE = "{ services(first: 20) { totalCount edges { node { id name department { id } } } } }"
SUBMIT = "mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { id status } }"
DEPARTMENTS = "{ departments { id nameEn connectorVersion } }"
SUBMIT_PATH = "/market-regulation/api/applications"


@dataclass
class Tally:
    """What the load saw, by phase."""

    phase: str = "start"
    done: Counter[str] = field(default_factory=Counter)
    failed: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def ok(self, kind: str) -> None:
        self.done[f"{self.phase}/{kind}"] += 1

    def fail(self, kind: str, why: str) -> None:
        self.failed[self.phase].append(f"{kind}: {why[:300]}")


@dataclass
class Subscriber:
    """A caseUpdated subscription through HAProxy that reconnects at once when its socket closes (1012
    on a restart, abruptly on SIGKILL), as graphql-ws and Apollo clients do."""

    url: str
    token: str
    case_id: str
    received: list[str] = field(default_factory=list)
    reconnects: list[float] = field(default_factory=list)  # seconds from close to subscribed again
    close_codes: list[int | None] = field(default_factory=list)

    async def run(self) -> None:
        closed_at: float | None = None
        while True:
            try:
                async with connect(self.url, self.token) as socket:
                    await socket.subscribe(ids=[self.case_id])
                    if closed_at is not None:
                        self.reconnects.append(time.monotonic() - closed_at)
                    while True:
                        message = await socket.next_payload(timeout=3600)
                        if message["type"] != "next":
                            break  # complete or error: subscribe again
                        self.received.append(message["payload"]["data"]["caseUpdated"]["case"]["status"])
            except websockets.ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else None)
            except (OSError, AssertionError, TimeoutError) as exc:
                self.close_codes.append(None)
                if closed_at is None:
                    raise AssertionError(f"first connection failed: {exc!r}") from exc
            closed_at = time.monotonic()


def post_body(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code}: {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body


async def load_loop(
    tally: Tally, kind: str, step: Callable[[httpx.AsyncClient], Awaitable[str | None]]
) -> None:
    """``step`` forever, one request at a time; it returns None when fine, else why it failed."""
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            try:
                why = await step(client)
            except (httpx.HTTPError, ValueError) as exc:
                why = repr(exc)
            if why is None:
                tally.ok(kind)
            else:
                tally.fail(kind, why)
            await asyncio.sleep(0.01)


@dataclass
class Workload:
    """Queries, reservations and submissions through the balancer."""

    lb: str
    tally: Tally
    slots: list[str]
    booked: list[str] = field(default_factory=list)
    submitted: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (token, case id)
    unsure: dict[str, str] = field(default_factory=dict)  # key -> token: failed, to retry
    reservers: itertools.cycle[str] = field(default_factory=lambda: itertools.cycle(residents(300, 1000)))
    submitters: list[str] = field(default_factory=lambda: residents(20, 1400))

    async def query_post(self, client: httpx.AsyncClient) -> str | None:
        body = post_body(await client.post(f"{self.lb}/graphql", json={"query": CATALOGUE}))
        return json.dumps(body["errors"]) if body.get("errors") else None

    async def query_get(self, client: httpx.AsyncClient) -> str | None:
        body = post_body(await client.get(f"{self.lb}/graphql", params={"query": CATALOGUE}))
        return json.dumps(body["errors"]) if body.get("errors") else None

    async def reserve(self, client: httpx.AsyncClient) -> str | None:
        slot = self.slots[self.tally.done.total() % len(self.slots)]
        token = resident_token(next(self.reservers))
        response = await client.post(
            f"{self.lb}/graphql",
            json={"query": RESERVE, "variables": {"slot": slot}},
            headers={"authorization": f"Bearer {token}"},
        )
        body = post_body(response)
        if body.get("data") and body["data"].get("reserveAppointment"):
            self.booked.append(body["data"]["reserveAppointment"]["id"])
            return None
        codes = error_codes(body)
        return None if codes in (["SLOT_FULL"], ["ALREADY_BOOKED"]) else json.dumps(body)

    async def submit(
        self, client: httpx.AsyncClient, key: str | None = None, token: str | None = None
    ) -> str | None:
        key = key or secrets.token_hex(12)
        token = token or resident_token(self.submitters[len(self.submitted) % len(self.submitters)])
        self.unsure[key] = token  # until an answer says what became of it
        values = {"serviceId": "SC-001", "idempotencyKey": key, "documents": ["居民身份证", "经营场所证明"]}
        response = await client.post(
            f"{self.lb}/graphql",
            json={"query": SUBMIT, "variables": {"in": values}},
            headers={"authorization": f"Bearer {token}"},
        )
        body = post_body(response)
        if body.get("errors"):
            return json.dumps(body)
        self.submitted[key] = (token, body["data"]["submitApplication"]["id"])
        del self.unsure[key]
        return None


@contextlib.asynccontextmanager
async def running(*coroutines: Awaitable[None]) -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:  # a load loop that died on its own is a test failure, not silence
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                raise result


async def steady(tally: Tally, seconds: float) -> None:
    """Let the load run for ``seconds`` and make sure it really ran."""
    before = tally.done.total()
    await asyncio.sleep(seconds)
    assert tally.done.total() > before, "the load made no progress"


async def delivered(
    http: aiohttp.ClientSession, mocks_url: str, ref: str, subscribers: list[Subscriber]
) -> int:
    """Change the case at the department until every subscription has received a change (a
    subscription that has just come back fetches its baseline first and may miss the first one);
    returns how many changes that took."""
    marks = [len(s.received) for s in subscribers]
    for attempt in range(1, 7):
        status = "APPROVED" if attempt % 2 else "REJECTED"
        async with http.post(f"{mocks_url}/_admin/cases/housing/{ref}/status", json={"status": status}) as r:
            assert r.status == 200, await r.text()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if all(len(s.received) > m for s, m in zip(subscribers, marks, strict=True)):
                return attempt
            await asyncio.sleep(0.05)
    raise AssertionError(
        f"subscriptions stopped receiving: {[len(s.received) for s in subscribers]} / {marks}"
    )


async def register_connector(lb: str, tmp_path: Path) -> tuple[int, str]:
    """``onestop connector register`` of a new culture-tourism version, through the balancer."""
    text_ = (PROJECT_ROOT / "connectors" / "specs" / "culture-tourism.yaml").read_text(encoding="utf-8")
    changed = text_.replace(
        'en: "Culture, Sports and Tourism Bureau"', 'en: "Culture, Sports and Tourism (v2)"'
    )
    assert changed != text_
    spec = tmp_path / "culture-tourism.yaml"
    spec.write_text(changed, encoding="utf-8")
    operator = mint(SECRET, "ops-1", Role.OPERATOR, channel=ClientChannel.UNKNOWN)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "connector",
        "register",
        str(spec),
        "--url",
        lb,
        cwd=PROJECT_ROOT,
        env=dict(os.environ) | {"ONESTOP_TOKEN": operator},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def serves_v2(url: str) -> bool:
    async with httpx.AsyncClient(timeout=10) as client:
        body = post_body(await client.post(f"{url}/graphql", json={"query": DEPARTMENTS}))
    found = [d for d in body["data"]["departments"] if d["id"] == "culture-tourism"]
    return bool(found) and found[0]["nameEn"] == "Culture, Sports and Tourism (v2)"


@pytest.mark.timeout(300)  # three cold starts and three restarts on two shared CPUs
async def test_rolling_restart_sigkill_and_a_connector_change_under_load(
    mocks: RunningMocks, admin: Admin, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    binary = haproxy()
    database_url = await fresh_postgres()
    env = {
        "ONESTOP_DATABASE_URL": database_url,
        "ONESTOP_REDIS_URL": await fresh_redis(),
        "ONESTOP_CACHE_URL": "memory://",
        "ONESTOP_NAMESPACE": f"{TEST_NAMESPACE}-fleet",
        "ONESTOP_MOCKS_URL": mocks.url,
        "ONESTOP_JWT_SECRET": SECRET,
        "ONESTOP_TUNE_GC": "false",
        "ONESTOP_DRAIN_S": str(DRAIN_S),
        "ONESTOP_RELOAD_POLL_S": "30",  # only the Redis message can make the connector change in time
        "ONESTOP_CASE_POLL_MIN_S": "120",  # only the department's webhook brings case changes
        "ONESTOP_CASE_POLL_MAX_S": "120",
        "ONESTOP_LOG_LEVEL": "WARNING",
    }
    replicas = [Replica(f"gw{i}", env, tmp_path / f"gw{i}.log") for i in (1, 2, 3)]
    balancer = Balancer(binary, tmp_path)
    started = time.monotonic()
    try:
        await replicas[0].start()  # first alone: it migrates the new database and registers the specs
        await replicas[0].ready()
        for replica in replicas[1:]:
            await replica.start()
        await asyncio.gather(*(r.ready() for r in replicas[1:]))
        await balancer.start(replicas)
        print(f"\nfleet up in {time.monotonic() - started:.1f} s")
        await fleet_under_load(replicas, balancer, mocks, admin, http, database_url, tmp_path)
    finally:
        await balancer.close()
        await asyncio.gather(*(r.close() for r in replicas))
        await set_webhook(http, mocks.url, None)


async def fleet_under_load(
    replicas: list[Replica],
    balancer: Balancer,
    mocks: RunningMocks,
    admin: Admin,
    http: aiohttp.ClientSession,
    database_url: str,
    tmp_path: Path,
) -> None:
    lb = balancer.url
    await set_webhook(http, mocks.url, f"{lb}/webhooks")  # the department calls whichever replica
    day = next_weekday().isoformat()
    async with httpx.AsyncClient(timeout=30) as client:
        variables = {"st": STATION, "sv": SERVICE, "from": day, "to": day}
        body = post_body(await client.post(f"{lb}/graphql", json={"query": SLOTS, "variables": variables}))
    tally = Tally()
    work = Workload(lb, tally, [s["id"] for s in body["data"]["appointmentSlots"]])
    case = housing_case()
    token = resident_token(fixture("non_pudong_hukou"))
    subscribers = [Subscriber(lb, token, f"housing:{case.ref}") for _ in range(SUBSCRIBERS)]
    loops = [
        load_loop(tally, "query POST", work.query_post),
        load_loop(tally, "query GET", work.query_get),
        load_loop(tally, "reserve", work.reserve),
        load_loop(tally, "submit", work.submit),
    ]
    timings: dict[str, float] = {}
    async with running(*loops, *(s.run() for s in subscribers)):
        tally.phase = "steady"
        await steady(tally, STEADY_S)
        assert await delivered(http, mocks.url, case.ref, subscribers) >= 1

        tally.phase = "rolling restart"
        for index, replica in enumerate(replicas):
            began = time.monotonic()
            assert await replica.stop() in (0, -15), f"{replica.name} did not exit cleanly"
            await replica.start()
            await replica.ready()
            await balancer.until_state(f"gw{index + 1}", "UP")
            timings[f"restart {replica.name}"] = time.monotonic() - began
            await steady(tally, STEADY_S / 2)
        await delivered(http, mocks.url, case.ref, subscribers)

        tally.phase = "sigkill"
        await replicas[1].kill()
        timings["marked down after SIGKILL"] = await balancer.until_state("gw2", "DOWN")
        await steady(tally, STEADY_S)
        await replicas[1].start()
        await replicas[1].ready()
        await balancer.until_state("gw2", "UP")
        await delivered(http, mocks.url, case.ref, subscribers)

        tally.phase = "connector change"
        code, out = await register_connector(lb, tmp_path)
        assert code == 0, out
        began = time.monotonic()
        while not all([await serves_v2(r.url) for r in replicas]):
            assert time.monotonic() - began < 5, "the new connector version is not served everywhere in 5 s"
            await asyncio.sleep(0.05)
        timings["connector v2 on every replica"] = time.monotonic() - began
        await steady(tally, STEADY_S)
        await delivered(http, mocks.url, case.ref, subscribers)

    # a resident whose submission failed retries it with the same key, as the client is told to
    async with httpx.AsyncClient(timeout=30) as client:
        for key, key_token in list(work.unsure.items()):
            assert await work.submit(client, key, key_token) is None
    report(tally, subscribers, timings, balancer)
    assert not tally.failed["steady"] and not tally.failed["rolling restart"], dict(tally.failed)
    for name in ("gw1", "gw2", "gw3"):  # each restart: out of rotation by its 503 (the drain), not refusal
        assert any(
            f"gateways/{name} is DOWN, reason: Layer7 wrong status, code: 503" in e for e in balancer.events()
        )
    assert not tally.failed["connector change"], dict(tally.failed)
    # SIGKILL: only what the killed replica had in flight, at most one request per load loop
    assert len(tally.failed["sigkill"]) <= 4, tally.failed["sigkill"]
    reconnects = [t for s in subscribers for t in s.reconnects]
    assert reconnects, "no subscription was ever closed: the restarts did not reach them"
    assert max(reconnects) < RECONNECT_WITHIN_S, reconnects
    assert 1012 in {c for s in subscribers for c in s.close_codes}, "restarts should close with 1012"
    await no_double_bookings(database_url, work)
    await no_duplicate_submissions(database_url, work, admin)


def report(
    tally: Tally, subscribers: list[Subscriber], timings: dict[str, float], balancer: Balancer
) -> None:
    print("HAProxy saw:", *balancer.events(), sep="\n  ")
    print("requests done:", dict(tally.done))
    print("failed by phase:", {phase: len(f) for phase, f in tally.failed.items()}, dict(tally.failed))
    for s in subscribers:
        print(f"subscription: reconnects {[round(t, 3) for t in s.reconnects]}, closes {s.close_codes}")
    print("timings:", {k: round(v, 2) for k, v in timings.items()})


async def no_double_bookings(database_url: str, work: Workload) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT s.id, s.capacity, count(a.id) FROM appointment_slots s "
                        "LEFT JOIN appointments a ON a.slot_id = s.id AND a.status = 'BOOKED' "
                        "GROUP BY s.id, s.capacity"
                    )
                )
            ).all()
            twice = (
                await connection.execute(
                    text(
                        "SELECT resident_digest, starts_at FROM appointments WHERE status = 'BOOKED' "
                        "GROUP BY resident_digest, starts_at HAVING count(*) > 1"
                    )
                )
            ).all()
            total = (await connection.execute(text("SELECT count(*) FROM appointments"))).scalar_one()
    finally:
        await engine.dispose()
    assert all(booked <= capacity for _, capacity, booked in rows), rows
    assert twice == []
    print(f"bookings: {total} in the store, {len(work.booked)} answered BOOKED")
    # every answered booking is in the store once; a SIGKILLed answer may be the only one missing
    assert len(work.booked) == len(set(work.booked)) and len(work.booked) <= total <= len(work.booked) + 1


async def no_duplicate_submissions(database_url: str, work: Workload, admin: Admin) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            stored = (
                await connection.execute(text("SELECT count(*) FROM application_submissions"))
            ).scalar_one()
    finally:
        await engine.dispose()
    department = (await admin.paths("market-regulation")).get(SUBMIT_PATH, 0)
    cases = {case for _, case in work.submitted.values()}
    print(f"submissions: {len(work.submitted)} keys, {stored} stored, {department} at the department")
    assert len(cases) == len(work.submitted) == stored == department


async def test_serve_workers_each_run_the_lifespan_and_drain_on_sigterm(
    mocks: RunningMocks, admin: Admin, tmp_path: Path
) -> None:
    """``onestop serve --workers 2``: both workers start the whole gateway (lifespan: migrations,
    connectors) on one port; a worker killed is replaced; SIGTERM reaches both, /readyz turns 503
    while queries are still answered; a request in flight when the listener closes still gets its
    answer; then every worker exits and the command with them."""
    port = free_port()
    log = tmp_path / "serve.log"
    env = dict(os.environ) | {
        "ONESTOP_PORT": str(port),
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "ONESTOP_MOCKS_URL": mocks.url,
        "ONESTOP_DRAIN_S": "2",
        # the slow request below must outlast the drain without timing out at its department
        "ONESTOP_SPECS_DIR": str(
            write_specs(tmp_path / "specs", lambda _, t: fast_policy(t, timeout_s=10, deadline_s=20))
        ),
        "ONESTOP_TUNE_GC": "false",
        "ONESTOP_LOG_LEVEL": "INFO",
    }
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cli",
            "serve",
            "--workers",
            "2",
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            await until_status(client, f"{url}/readyz", 200, 90)
            await until_logged(log, "serving 19 departments", 2)  # each worker ran the lifespan
            os.kill(workers_of(proc.pid)[0], signal.SIGKILL)  # a worker dies unasked: another takes its place
            await until_logged(log, "exited (-9): starting another", 1)
            await until_logged(log, "serving 19 departments", 3, timeout_s=90)
            assert len(workers_of(proc.pid)) == 2
            await admin.fault("culture-tourism", latency_ms=SLOW_MS)  # past the drain, inside the grace
            slow = asyncio.create_task(client.post(f"{url}/graphql", json={"query": SLOW}))
            await until_logged_paths(admin, "culture-tourism")  # the slow request is in flight
            proc.send_signal(signal.SIGTERM)
            await until_logged(log, "draining for 2.0 s", 2)
            assert (await client.get(f"{url}/readyz")).status_code == 503
            body = post_body(await client.post(f"{url}/graphql", json={"query": CATALOGUE}))
            assert body["data"]["services"]["totalCount"] > 0  # still serving while the balancer notices
            answer = post_body(await slow)
            assert answer["data"]["services"]["totalCount"] > 0 and not answer.get("errors"), answer
            assert log_text(log).count("shutting down: no new connections") >= 1  # it outlived the listener
            assert await asyncio.wait_for(proc.wait(), 30) == 0
            with pytest.raises(httpx.ConnectError):
                await client.get(f"{url}/readyz")
        assert log_text(log).count("shutting down: no new connections") == 2
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


SLOW_MS = 3500  # ONESTOP_DRAIN_S is 2 s: the listener closes while this request waits for its department
SLOW = '{ services(first: 5, filter: {departments: ["culture-tourism"]}) { totalCount } }'


async def until_logged_paths(admin: Admin, department: str) -> None:
    deadline = time.monotonic() + 30
    while not await admin.requests(department):
        assert time.monotonic() < deadline, f"no request reached {department}"
        await asyncio.sleep(0.02)


def workers_of(pid: int) -> list[int]:
    """The worker processes ``onestop serve`` started (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [
        int(child)
        for child in children
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


async def until_status(client: httpx.AsyncClient, url: str, status: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if (await client.get(url)).status_code == status:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered {status}")


def log_text(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")


async def until_logged(log: Path, text_: str, times: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while log_text(log).count(text_) < times:
        assert time.monotonic() < deadline, f"{text_!r} not logged {times} times:\n{log_text(log)[-3000:]}"
        await asyncio.sleep(0.05)


async def test_serve_workers_refuses_production_settings_once_instead_of_restarting_workers(
    tmp_path: Path,
) -> None:
    """A setting production refuses (here: no digest key) stops ``onestop serve --workers 2`` itself,
    before any worker starts: a refused worker would otherwise exit, be started again, and so forever."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")} | {
        "ONESTOP_MODE": "production",
        "ONESTOP_PORT": str(free_port()),
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli",
        "serve",
        "--workers",
        "2",
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text_out = output.decode()
    assert proc.returncode == 1, text_out
    assert "onestop: not starting" in text_out and "ONESTOP_DIGEST_KEY" in text_out
    assert "workers)" not in text_out and "starting another" not in text_out  # no worker was started
