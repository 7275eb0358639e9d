"""A fleet on this machine: gateway replicas (``python server.py`` processes, each on a port of its own
that it keeps across restarts) behind HAProxy run from ``deploy/haproxy.cfg`` itself. Used by
``tests/test_fleet.py`` and ``bench/fleet.py``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config import PROJECT_ROOT
from tests.gateway_process import free_port
from tests.waiting import until

HAPROXY_CFG = PROJECT_ROOT / "deploy" / "haproxy.cfg"
START_S = 90.0  # a cold start on two CPUs shared by several test runs can take a while


@dataclass
class Replica:
    """One gateway process; ``start`` again after ``stop``/``kill`` brings it back on the same port."""

    name: str
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(PROJECT_ROOT / "server.py"),
                cwd=PROJECT_ROOT,
                env={**os.environ, **self.env, "ONESTOP_PORT": str(self.port)},
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
            )

    async def ready(self, timeout_s: float = START_S) -> None:
        """Until /readyz answers 200 (fails at once if the process exited)."""
        async with httpx.AsyncClient(timeout=2.0) as client:

            async def ready() -> bool:
                assert self.process is not None and self.process.returncode is None, (
                    f"{self.name} exited; see {self.log}"
                )
                try:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await until(ready, timeout_s, 0.1, what=f"{self.name} ready (see {self.log})")

    async def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait for the exit (the drain included); returns the exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout_s)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU time the process used so far (from /proc, in clock ticks)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_bytes(self) -> int:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)  # no drain: the test is over
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@dataclass
class Balancer:
    """HAProxy with ``deploy/haproxy.cfg``, its servers given by ``ONESTOP_GW1..3``."""

    binary: str
    directory: Path
    inter: str = "100ms"
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stats_socket(self) -> Path:
        return self.directory / "haproxy.sock"

    async def start(self, replicas: list[Replica]) -> None:
        assert 1 <= len(replicas) <= 3, "deploy/haproxy.cfg names three servers"
        env = {
            **os.environ,
            "ONESTOP_LB_BIND": f"127.0.0.1:{self.port}",
            "ONESTOP_LB_INTER": self.inter,
            "ONESTOP_LB_STATS": str(self.stats_socket),
        } | {f"ONESTOP_GW{i + 1}": r.address for i, r in enumerate(replicas)}
        log = (self.directory / "haproxy.log").open("ab")
        with log:
            self.process = await asyncio.create_subprocess_exec(
                self.binary,
                "-db",
                "-f",
                str(HAPROXY_CFG),
                env=env,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        await self.until_up(len(replicas))

    async def states(self) -> dict[str, str]:
        """``{"gw1": "UP", "gw2": "DOWN", ...}`` from the stats socket's ``show stat``."""
        reader, writer = await asyncio.open_unix_connection(str(self.stats_socket))
        writer.write(b"show stat\n")
        await writer.drain()
        data = (await reader.read()).decode()
        writer.close()
        lines = data.splitlines()
        header = lines[0].lstrip("# ").split(",")
        name, status = header.index("svname"), header.index("status")
        states = {}
        for line in lines[1:]:
            row = line.split(",")
            if len(row) > status and row[0] == "gateways" and row[name] not in ("BACKEND", "FRONTEND"):
                states[row[name]] = row[status].split()[0]
        return states

    async def until_state(self, server: str, state: str, timeout_s: float = 30.0) -> float:
        """Seconds until HAProxy says ``server`` is ``state`` (UP, DOWN, ...)."""

        async def seen() -> bool:
            try:
                return (await self.states()).get(server) == state
            except (OSError, ValueError, IndexError):
                return False  # the socket is not there yet

        return await until(seen, timeout_s, what=f"HAProxy seeing {server} {state}")

    async def until_up(self, count: int) -> None:
        for index in range(count):
            await self.until_state(f"gw{index + 1}", "UP", START_S)

    def events(self) -> list[str]:
        """What HAProxy logged past its start notices: servers going DOWN and UP, and why."""
        text = (self.directory / "haproxy.log").read_text(encoding="utf-8", errors="replace")
        return [line for line in text.splitlines() if line and "[NOTICE]" not in line]

    async def close(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
