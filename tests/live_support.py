"""What the live-case-update tests share: a gateway served on a real socket (websockets need one), a
minimal graphql-transport-ws client, signed webhook calls, and the mocks' case-status admin API."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import uvicorn
import websockets
from starlette.applications import Starlette

from mocks.world import Case
from tests.access_support import WORLD, fixture
from tests.waiting import WAIT_S as WAIT_S  # re-exported: the live tests import them from here
from tests.waiting import until as until

HOUSING_SECRET = "zj-webhook-secret-dev"  # the mocks' and the bundled spec's development secret

UPDATED = """subscription($ids: [ID!], $resident: ID) {
  caseUpdated(caseIds: $ids, resident: $resident) {
    case { id reference status departmentStatus updatedAt history { status departmentStatus } }
    previousStatus changedAt source
  }
}"""


def housing_case(name: str = "non_pudong_hukou") -> Case:
    """A fixture resident's housing case (the mocks can move housing cases live)."""
    resident = fixture(name)
    return next(c for c in WORLD.cases_of_resident(resident.id_number) if c.department == "housing")


@contextlib.asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """``app`` (lifespan already running) on a free loopback port; yields its ``http://`` base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT_S)


@dataclass
class Socket:
    """One graphql-transport-ws connection."""

    ws: Any

    async def receive(self, timeout: float = WAIT_S) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        # graphql-transport-ws is text frames: browsers hand a binary frame to the page as a Blob
        assert isinstance(frame, str), f"binary frame: {frame[:80]!r}"
        message: dict[str, Any] = json.loads(frame)
        return message

    async def subscribe(self, query: str = UPDATED, op: str = "1", **variables: Any) -> None:
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op, "type": "subscribe", "payload": payload}))

    async def next_payload(self, timeout: float = WAIT_S) -> dict[str, Any]:
        """The next message for an operation (``next``, ``error`` or ``complete``), pings answered."""
        while True:
            message = await self.receive(timeout)
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message


@contextlib.asynccontextmanager
async def connect(
    base_url: str, token: str | None = None, origin: str | None = None, ack: bool = True
) -> AsyncIterator[Socket]:
    url = base_url.replace("http://", "ws://") + "/graphql"
    headers = {"Origin": origin} if origin else None
    async with websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")], additional_headers=headers
    ) as ws:
        socket = Socket(ws)
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        if ack:
            message = await socket.receive()
            assert message["type"] == "connection_ack", message
        yield socket


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "x-onestop-timestamp": stamp,
        "x-onestop-signature": f"sha256={signature}",
    }


def webhook_body(case: Case) -> bytes:
    return json.dumps(
        {"event": "case.status_changed", "ref": case.ref, "resident_id": case.resident}
    ).encode()


async def change_status(
    http: aiohttp.ClientSession, mocks_url: str, department: str, ref: str, status: str
) -> dict[str, Any]:
    async with http.post(
        f"{mocks_url}/_admin/cases/{department}/{ref}/status", json={"status": status}
    ) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


async def set_webhook(http: aiohttp.ClientSession, mocks_url: str, url: str | None) -> None:
    if url is None:
        async with http.delete(f"{mocks_url}/_admin/webhooks") as response:
            assert response.status == 200
        return
    async with http.put(f"{mocks_url}/_admin/webhooks", json={"url": url}) as response:
        assert response.status == 200, await response.text()


async def post_webhook(
    client: httpx.AsyncClient, department: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"/webhooks/{department}", content=body, headers=headers)
