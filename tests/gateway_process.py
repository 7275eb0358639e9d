"""A real gateway process (``python server.py`` under uvicorn) on a free loopback port, for the tests that
need sockets and a process of its own: overload (its memory, its queue) and fuzzing (its log)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from config import PROJECT_ROOT
from tests.waiting import until, until_blocking


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class GatewayProcess:
    url: str
    pid: int
    log: Path

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def log_problems(self) -> list[str]:
        """Log lines at ERROR or worse, or with a traceback, in the JSON or the text log format."""
        marks = ("Traceback", '"level":"error"', '"level":"critical"', " ERROR ", " CRITICAL ")
        return [line[:2000] for line in self.log_text().splitlines() if any(m in line for m in marks)]


@contextmanager
def gateway_process(mocks_url: str, directory: Path, **settings: str) -> Iterator[GatewayProcess]:
    """Start the gateway with ``ONESTOP_<NAME>`` for each setting; stopped (and reaped) on exit."""
    port = free_port()
    env = {
        **os.environ,
        "ONESTOP_PORT": str(port),
        "ONESTOP_MOCKS_URL": mocks_url,
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'gateway.db'}",
        **{f"ONESTOP_{name.upper()}": value for name, value in settings.items()},
    }
    log = directory / "gateway.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "server.py"], cwd=PROJECT_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        yield GatewayProcess(f"http://127.0.0.1:{port}", process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(url: str, timeout_s: float = 60) -> None:
    """Block until /readyz answers 200 (call it from a thread when the event loop serves the mocks)."""

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        until_blocking(ready, timeout=timeout_s, every=0.2)
    except TimeoutError:
        raise AssertionError(f"the gateway at {url} did not become ready") from None


async def wait_healthy(url: str, timeout_s: float = 60) -> None:
    """Wait until /healthz answers 200: a gateway process has started serving."""

    async def healthy() -> bool:
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await until(healthy, timeout=timeout_s, every=0.1)
    except TimeoutError:
        raise AssertionError(f"gateway at {url} did not start") from None
