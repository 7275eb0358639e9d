"""Shared by the onboarding, CLI and reload tests: the District Archives mock (a department not among
the 19), its example spec, admin tokens, and a real HTTP server around an in-process gateway."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest_asyncio
import uvicorn
from aiohttp import web

from config import PROJECT_ROOT
from identity.principal import Role
from identity.tokens import mint
from mocks.extra import archives
from tests.conftest import Gateway
from tests.waiting import until

SECRET = "onboarding-test-secret-0123456789abcdef"
EXAMPLE = (PROJECT_ROOT / "docs" / "examples" / "archives.yaml").read_text(encoding="utf-8")
ARCHIVES_IDS = {"DA-001", "DA-002", "DA-003", "DA-004"}

REGISTER = """mutation($spec: String!, $force: Boolean! = false) {
  registerConnector(spec: $spec, force: $force) {
    outcome department version
    validation { ok problems { line path message expected text } }
    probe { ok operations { capability ok records samples problems pages lastPageReached } }
  }
}"""
SERVICES = "{ services(first: 100) { totalCount edges { node { id nameEn department { id } } } } }"
DEPARTMENTS = "{ departments { id nameEn connectorVersion } }"


def token(
    role: Role = Role.OPERATOR,
    department: str | None = None,
    subject: str = "ops-1",
    station: str | None = None,
) -> str:
    return mint(SECRET, subject, role, department=department, station=station)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def operator() -> dict[str, str]:
    return bearer(token())


def dept_admin(department: str, subject: str = "it-1") -> dict[str, str]:
    return bearer(token(Role.DEPT_ADMIN, department, subject))


def version_two(text: str = EXAMPLE) -> str:
    """The example with a visible change: another English name."""
    return text.replace("en: District Archives", "en: Pudong District Archives")


def archive_ids(body: dict[str, Any]) -> set[str]:
    edges = body["data"]["services"]["edges"]
    return {e["node"]["id"] for e in edges if e["node"]["department"]["id"] == "archives"}


@pytest_asyncio.fixture
async def archives_url() -> AsyncIterator[str]:
    """The District Archives mock on a free port, in this test's event loop."""
    runner = web.AppRunner(archives.create_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def register(
    gateway: Gateway, spec: str, headers: dict[str, str], force: bool = False
) -> dict[str, Any]:
    return await gateway.query(REGISTER, {"spec": spec, "force": force}, **headers)


@asynccontextmanager
async def served(gateway: Gateway) -> AsyncIterator[str]:
    """A real HTTP server (uvicorn, port 0) around an in-process gateway, for the CLI to talk to."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(gateway.app, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await until(lambda: server.started, timeout=10, every=0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()
