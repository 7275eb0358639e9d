"""What every benchmark phase needs: subprocesses on free ports, a closed-loop load, and its figures.

The load generator is this process; the gateways and the mocks are others, all on loopback and all on
the same CPUs. A ``Workload`` says what each request sends, so one loop serves plain queries, queries
with a resident's token, and any number of gateway processes (requests go round-robin, like a load
balancer would send them).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0

# -- processes ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


Process = subprocess.Popen[bytes]


class Processes:
    """Subprocesses started by the benchmark; every one is stopped on exit, whatever happened."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: dict[str, tuple[Process, TextIO]] = {}

    def start(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> Process:
        log = (self.log_dir / f"{name}.log").open("w")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only the benchmark, which then stops them in order
        )
        self.running[name] = (process, log)
        return process

    def stop(self, name: str) -> None:
        process, log = self.running.pop(name)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()

    def log_tail(self, name: str, lines: int = 20) -> str:
        text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in list(self.running):
            self.stop(name)


def start_mocks(processes: Processes) -> str:
    port = free_port()
    processes.start("mocks", [sys.executable, "-m", "mocks", "--host", HOST, "--port", str(port)])
    return f"http://{HOST}:{port}"


def start_gateway(
    processes: Processes, name: str, mocks_url: str, env: Mapping[str, str]
) -> tuple[str, Process]:
    """One gateway process (one uvicorn worker) in production mode; ``env`` adds or overrides settings."""
    port = free_port()
    settings = {
        "ONESTOP_HOST": HOST,
        "ONESTOP_PORT": str(port),
        "ONESTOP_MOCKS_URL": mocks_url,
        "ONESTOP_MODE": "production",
        "ONESTOP_RATE_LIMIT_CLIENT": "0",  # every client of the benchmark comes from one address
        "ONESTOP_LOG_LEVEL": "WARNING",  # the access log goes to a file nobody reads here
        "ONESTOP_DIGEST_KEY": "onestop-bench-digest-key",  # production refuses to start without one
        # production mode against the mock departments: their credentials (and the benchmark's HS256
        # tokens) are public, which production otherwise refuses
        "ONESTOP_ALLOW_REPOSITORY_SECRETS": "true",
        "ONESTOP_ALLOW_HS256": "true",
        **env,
    }
    process = processes.start(name, [sys.executable, str(ROOT / "server.py")], settings)
    return f"http://{HOST}:{port}", process


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), to tell how busy the gateway was."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- HTTP helpers ------------------------------------------------------------------------------------


async def wait_ready(session: aiohttp.ClientSession, url: str, process: Process) -> Any:
    """Poll ``url`` until it answers 200 (returns its JSON); fail early if the process died."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with code {process.returncode} before it was ready")
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                if response.status == 200:
                    return await response.json()
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {READY_TIMEOUT_S:.0f}s")


async def list_departments(session: aiohttp.ClientSession, mocks_url: str) -> list[str]:
    async with session.get(f"{mocks_url}/_admin/departments") as response:
        response.raise_for_status()
        return [d["id"] for d in await response.json()]


async def set_faults(
    session: aiohttp.ClientSession, mocks_url: str, ids: list[str], fault: Mapping[str, Any]
) -> None:
    for department in ids:
        async with session.put(f"{mocks_url}/_admin/faults/{department}", json=dict(fault)) as response:
            response.raise_for_status()


async def prepare_mocks(mocks_url: str, process: Process, latency_ms: int) -> list[str]:
    """Wait for the mocks, then give every department the same latency; returns their ids."""
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, f"{mocks_url}/_admin/departments", process)
        departments = await list_departments(session, mocks_url)
        await set_faults(session, mocks_url, departments, {"latency_ms": latency_ms})
    return departments


async def upstream_stats(session: aiohttp.ClientSession, mocks_url: str) -> dict[str, Counter[str]]:
    """Requests each department has received so far, per path."""
    async with session.get(f"{mocks_url}/_admin/stats") as response:
        response.raise_for_status()
        stats = await response.json()
    return {department: Counter(entry["paths"]) for department, entry in stats.items()}


def stats_delta(before: dict[str, Counter[str]], after: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    delta: dict[str, dict[str, int]] = {}
    for department, paths in after.items():
        grown = paths - before.get(department, Counter())
        if grown:
            delta[department] = dict(grown)
    return delta


# -- what a request sends ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """A named query; ``prepare(i)`` gives the i-th request's variables and headers (tokens)."""

    name: str
    query: str
    prepare: Callable[[int], tuple[dict[str, Any], dict[str, str]]] | None = None

    def request(self, index: int) -> tuple[dict[str, Any], dict[str, str]]:
        variables, headers = self.prepare(index) if self.prepare else ({}, {})
        return {"query": self.query, "variables": variables}, headers


async def graphql(
    session: aiohttp.ClientSession,
    url: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
) -> str | None:
    """One request; None when it succeeded (HTTP 200, no ``errors``), otherwise what went wrong."""
    try:
        async with session.post(f"{url}/graphql", json=body, headers=headers) as response:
            raw = await response.read()
            if response.status != 200:
                return f"HTTP {response.status}"
        payload = json.loads(raw)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return type(exc).__name__
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        extensions = errors[0].get("extensions") or {}
        return f"{extensions.get('code', 'ERROR')}@{extensions.get('department', '-')}"
    return None


# -- load --------------------------------------------------------------------------------------------


@dataclass
class Load:
    latencies_s: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0


async def closed_loop(
    urls: list[str], workload: Workload, concurrency: int, duration_s: float, max_requests: int
) -> Load:
    """``concurrency`` clients each send the next request as soon as the last one answered; requests
    go to ``urls`` in turn."""
    load = Load()
    issued = 0
    # a pool per gateway: round-robin over one shared slot would reconnect on every request
    connector = aiohttp.TCPConnector(limit=concurrency * len(urls), limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        stop_at = start + duration_s

        async def client() -> None:
            nonlocal issued
            while time.perf_counter() < stop_at and issued < max_requests:
                index = issued
                issued += 1
                body, headers = workload.request(index)
                sent = time.perf_counter()
                failure = await graphql(session, urls[index % len(urls)], body, headers)
                load.latencies_s.append(time.perf_counter() - sent)
                if failure is not None:
                    load.failures[failure] += 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
        load.elapsed_s = time.perf_counter() - start
    return load


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class RunResult:
    query: str
    scenario: str
    concurrency: int
    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    upstream_calls: int
    upstream_per_query: float
    gateway_cpu_pct: float | None
    failure_kinds: dict[str, int]
    upstream_paths: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Target:
    """Running gateway processes (one or more behind a round-robin) and the mocks behind them."""

    urls: list[str]
    mocks_url: str
    processes: list[Process]


def _cpu(processes: list[Process]) -> float | None:
    readings = [cpu_seconds(p.pid) for p in processes]
    return None if any(r is None for r in readings) else sum(r for r in readings if r is not None)


async def measure(
    target: Target,
    workload: Workload,
    scenario: str,
    concurrency: int,
    duration_s: float,
    max_requests: int,
) -> RunResult:
    """One cell of the table: a closed loop, with the departments' request counts around it."""
    async with aiohttp.ClientSession() as admin:
        before = await upstream_stats(admin, target.mocks_url)
        cpu_before = _cpu(target.processes)
        load = await closed_loop(target.urls, workload, concurrency, duration_s, max_requests)
        cpu_after = _cpu(target.processes)
        after = await upstream_stats(admin, target.mocks_url)
    delta = stats_delta(before, after)
    calls = sum(sum(paths.values()) for paths in delta.values())
    count = len(load.latencies_s)
    cpu = None
    if cpu_before is not None and cpu_after is not None and load.elapsed_s > 0:
        cpu = round(100 * (cpu_after - cpu_before) / load.elapsed_s, 1)
    return RunResult(
        query=workload.name,
        scenario=scenario,
        concurrency=concurrency,
        requests=count,
        errors=sum(load.failures.values()),
        requests_per_s=round(count / load.elapsed_s, 1) if load.elapsed_s else 0.0,
        p50_ms=round(1000 * percentile(load.latencies_s, 50), 1) if count else None,
        p99_ms=round(1000 * percentile(load.latencies_s, 99), 1) if count else None,
        max_ms=round(1000 * max(load.latencies_s), 1) if count else None,
        upstream_calls=calls,
        upstream_per_query=round(calls / count, 2) if count else 0.0,
        gateway_cpu_pct=cpu,
        failure_kinds=dict(load.failures),
        upstream_paths=delta,
    )


# -- the table ---------------------------------------------------------------------------------------

COLUMNS = (
    "query",
    "scenario",
    "conc",
    "req/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "upstream/q",
    "errors",
    "gw cpu%",
)


def header() -> str:
    return "{:<9} {:<12} {:>4} {:>8} {:>8} {:>8} {:>8} {:>10} {:>6} {:>7}".format(*COLUMNS)


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_row(r: RunResult) -> str:
    return (
        f"{r.query:<9} {r.scenario:<12} {r.concurrency:>4} {r.requests_per_s:>8.1f} {number(r.p50_ms):>8} "
        f"{number(r.p99_ms):>8} {number(r.max_ms):>8} {r.upstream_per_query:>10.2f} {r.errors:>6} "
        f"{number(r.gateway_cpu_pct, 0):>7}"
    )
