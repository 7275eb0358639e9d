"""What the real-client conformance tests share: a gateway on a real port that can be restarted on the
same port, a department's signed webhook with its timing, a driver for the Node / Chromium client
scripts in tests/js (one JSON object a line each way), and the scenario every client goes through.

Latency is measured from the department's webhook call leaving to the event reaching the client's
code (in the page, for Chromium): ``pytest -rP tests/test_clients_*.py | grep webhook``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import uvicorn
from starlette.applications import Starlette

from mocks.world import Case
from server import SHUTDOWN_GRACE_S, GatewayServer
from services import services_of
from tests.access_support import SECRET, fixture, resident_token
from tests.conftest import Gateway, GatewayFactory
from tests.live_support import (
    HOUSING_SECRET,
    UPDATED,
    WAIT_S,
    change_status,
    housing_case,
    signed_headers,
    until,
)

JS = os.path.join(os.path.dirname(__file__), "js")
NO_POLL = {"case_poll_min_s": 60.0, "case_poll_max_s": 60.0}  # only the webhook can tell in time
STATUSES = ("IN_REVIEW", "APPROVED", "WITHDRAWN", "SUBMITTED")  # a change each round


class LiveServer:
    """``app`` (lifespan running) under uvicorn on loopback; ``restart()`` keeps the port, as a
    redeployed gateway behind the same address would."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        )
        server = GatewayServer(config, services_of(self.app).event_streams)
        self._server, self._task = server, asyncio.create_task(server.serve())
        await until(lambda: server.started or (self._task is not None and self._task.done()))
        assert server.started, "uvicorn did not start"
        self.port = server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, WAIT_S)
            self._server = self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@contextlib.asynccontextmanager
async def live(app: Starlette) -> AsyncIterator[LiveServer]:
    server = LiveServer(app)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass
class Webhooks:
    """A department telling the gateway a case changed: the status moves at the (mock) department, then
    the department's signed call arrives. Returns when the call left, for latency."""

    http: aiohttp.ClientSession
    mocks_url: str
    case: Case
    sent: int = 0

    async def change(self, gateway_url: str) -> float:
        status = STATUSES[self.sent % len(STATUSES)]
        self.sent += 1
        await change_status(self.http, self.mocks_url, "housing", self.case.ref, status)
        body = json.dumps(
            {
                "event": "case.status_changed",
                "ref": self.case.ref,
                "resident_id": self.case.resident,
                "status": status,  # informational (not trusted); keeps each call's signature distinct
                "updated_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        started = time.time()
        async with self.http.post(
            f"{gateway_url}/webhooks/housing", data=body, headers=signed_headers(HOUSING_SECRET, body)
        ) as response:
            assert response.status == 202, await response.text()
        return started


@dataclass
class Latencies:
    """Webhook call sent -> event handed to the client's code, in ms, per transport."""

    by_transport: dict[str, list[float]] = field(default_factory=dict)

    def add(self, transport: str, sent_s: float, received_ms: float) -> float:
        latency = received_ms - sent_s * 1000
        self.by_transport.setdefault(transport, []).append(latency)
        return latency

    def report(self) -> str:
        return "; ".join(
            f"{name}: median {statistics.median(v):.1f} ms, max {max(v):.1f} ms (n={len(v)})"
            for name, v in sorted(self.by_transport.items())
        )


LATENCIES = Latencies()


class ClientProcess:
    """A client script (tests/js/*.mjs) driven by commands on stdin; its events come on stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self.hello: dict[str, Any] = {}  # the script's `ready` event
        self._readers = [
            asyncio.create_task(self._read_events()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def start(cls, *argv: str) -> ClientProcess:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=JS,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def ready(self, timeout: float = WAIT_S) -> None:
        self.hello = await self.expect("ready", timeout)

    async def _read_events(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            with contextlib.suppress(ValueError):
                await self.events.put(json.loads(line))

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.stderr.append(line.decode(errors="replace").rstrip())

    async def send(self, cmd: str, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")
        await self.process.stdin.drain()

    async def expect(self, event: str, timeout: float = WAIT_S, **match: Any) -> dict[str, Any]:
        """The next event named ``event`` (with ``match``ing fields); others are kept in ``seen``."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await self.events.get()
                    self.seen.append(message)
                    if message.get("event") == event and all(message.get(k) == v for k, v in match.items()):
                        return message
                    if message.get("event") == "fatal":
                        raise AssertionError(f"client failed: {message}")
        except TimeoutError:
            tail = "\n".join(self.stderr[-20:])
            raise AssertionError(f"no {event} {match} in {timeout}s; seen {self.seen[-8:]}; {tail}") from None

    def drain(self) -> list[dict[str, Any]]:
        """``seen`` with every event received so far (for a failure's message)."""
        while not self.events.empty():
            self.seen.append(self.events.get_nowait())
        return self.seen

    def count(self, event: str) -> int:
        return sum(1 for m in self.seen if m.get("event") == event)

    async def close(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ConnectionError, AssertionError):
                await self.send("exit")
            try:
                await asyncio.wait_for(self.process.wait(), WAIT_S)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


# -- the scenario every client goes through --------------------------------------------------------

CASE = housing_case()
CASE_ID = f"housing:{CASE.ref}"
TOKEN = resident_token(fixture("non_pudong_hukou"))  # the case's applicant
BOUND_MS = 1000.0  # every event, even on a loaded CI machine; the figures are in the report


async def live_gateway(make_gateway: GatewayFactory, **settings: Any) -> Gateway:
    """A gateway taking the tests' tokens, where only a webhook can tell of a change in time."""
    return await make_gateway(jwt_secret=SECRET, **NO_POLL | settings)


def watched(gateway: Gateway) -> bool:
    """The gateway watches the resident's housing cases: a subscription is running for them."""
    return gateway.services.live.watch.seen(CASE.resident, "housing") is not None


def url_for(kind: str, base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql" if kind == "graphql-ws" else base + "/graphql/stream"


async def update_arrives(
    client: ClientProcess, op: str, webhooks: Webhooks, server: LiveServer, transport: str
) -> float:
    """A department's webhook, and the update it triggers in the client; the latency in ms."""
    sent = await webhooks.change(server.url)
    event = await client.expect("next", id=op)
    assert not event["payload"].get("errors"), event
    update = event["payload"]["data"]["caseUpdated"]
    assert update["case"]["id"] == CASE_ID and update["source"] == "WEBHOOK", update
    latency = LATENCIES.add(transport, sent, event["at"])
    print(f"{transport}: webhook -> event {latency:.1f} ms")
    assert 0 < latency < BOUND_MS
    return latency


async def conformance(
    client: ClientProcess,
    gateway: Gateway,
    server: LiveServer,
    webhooks: Webhooks,
    kind: str,
    token: str,
    transport: str | None = None,
) -> list[float]:
    """Connect with the token, subscribe, an update; complete; reconnect, an update; the gateway
    restarts on the same address, the client reconnects and resubscribes by itself, an update."""
    transport = transport or kind
    client.seen.clear()
    await client.send("open", config={"kind": kind, "url": url_for(kind, server.url), "token": token})
    await client.expect("opened")
    subscription = {"query": UPDATED, "variables": {"ids": [CASE_ID]}}
    await client.send("subscribe", id="1", **subscription)
    await until(lambda: watched(gateway))
    latencies = [await update_arrives(client, "1", webhooks, server, transport)]
    await client.send("unsubscribe", id="1")
    await until(lambda: not watched(gateway))  # complete reached the gateway: nothing left running

    await client.send("subscribe", id="2", **subscription)
    await until(lambda: watched(gateway))
    latencies.append(await update_arrives(client, "2", webhooks, server, transport))

    stopping = time.monotonic()
    await server.stop()
    await until(lambda: not watched(gateway))  # the connection's subscriptions ended with it
    await server.start()
    restart_s = time.monotonic() - stopping
    print(f"{transport}: gateway restarted in {restart_s:.2f} s")
    # open streams ended at once (GatewayServer), not when the grace period ran out
    assert restart_s < SHUTDOWN_GRACE_S / 2
    try:
        await until(lambda: watched(gateway))  # the client came back and subscribed again, unasked
    except TimeoutError:
        raise AssertionError(f"not back after the restart: {client.drain()[-6:]}") from None
    latencies.append(await update_arrives(client, "2", webhooks, server, transport))
    await client.send("unsubscribe", id="2")
    await until(lambda: not watched(gateway))
    await client.send("close")
    await client.expect("disposed")
    assert client.count("connected") >= 3, client.seen  # first, after complete, after the restart
    assert client.count("error") == 0, client.seen
    return latencies
