"""Load benchmark of the gateway against the mock departments: `python -m bench.run [--quick]`.

Starts the mocks and the gateway as subprocesses on free loopback ports, gives every department the same
latency, and for each query, cache mode (cold = ``none://``, warm = ``memory://``) and concurrency runs a
closed loop of N concurrent clients for a fixed time. The load generator is this process; the gateway and
the mocks are others, but they all share the machine's CPUs. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0

FOUR_DEPARTMENTS = ("community", "civil-affairs", "hrss", "health")
QUERIES: dict[str, str] = {
    "services": "query Catalogue { services(first: 20) { totalCount edges { node "
    "{ id name nameEn category department { id } } } } }",
    "stations": "query Nearby { stations(near: {latitude: 31.2304, longitude: 121.5050}, maxWalkMinutes: 15) "
    "{ distanceMeters walkMinutes station { id name town } } }",
    "four": "query Four { services(first: 5, filter: {departments: "
    + json.dumps(list(FOUR_DEPARTMENTS))
    + "}) { totalCount } }",
}
CACHE_URLS = {"cold": "none://", "warm": "memory://"}


def one_department_query(department: str) -> str:
    selection = f"filter: {{departments: [{json.dumps(department)}]}}"
    return f"query One {{ services(first: 1, {selection}) {{ totalCount }} }}"


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


def start_gateway(processes: Processes, name: str, cache_url: str, mocks_url: str, data_dir: Path) -> str:
    port = free_port()
    database = data_dir / f"{name}.db"
    env = {
        "ONESTOP_HOST": HOST,
        "ONESTOP_PORT": str(port),
        "ONESTOP_MOCKS_URL": mocks_url,
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "ONESTOP_CACHE_URL": cache_url,
        "ONESTOP_MODE": "production",
    }
    processes.start(name, [sys.executable, str(ROOT / "server.py")], env)
    return f"http://{HOST}:{port}"


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


async def set_latency(session: aiohttp.ClientSession, mocks_url: str, ids: list[str], ms: int) -> None:
    for department in ids:
        fault = f"{mocks_url}/_admin/faults/{department}"
        async with session.put(fault, json={"latency_ms": ms}) as response:
            response.raise_for_status()


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


async def graphql(session: aiohttp.ClientSession, url: str, query: str) -> str | None:
    """One request; None when it succeeded (HTTP 200, no ``errors``), otherwise what went wrong."""
    try:
        async with session.post(f"{url}/graphql", json={"query": query}) as response:
            body = await response.read()
            if response.status != 200:
                return f"HTTP {response.status}"
        payload = json.loads(body)
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


async def closed_loop(url: str, query: str, concurrency: int, duration_s: float, max_requests: int) -> Load:
    """``concurrency`` clients each send the next request as soon as the last one answered."""
    load = Load()
    issued = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.perf_counter()
        stop_at = start + duration_s

        async def client() -> None:
            nonlocal issued
            while time.perf_counter() < stop_at and issued < max_requests:
                issued += 1
                sent = time.perf_counter()
                failure = await graphql(session, url, query)
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
    cache: str
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
    """A running gateway and the mocks behind it."""

    url: str
    mocks_url: str
    process: Process


async def measure(
    target: Target, name: str, cache: str, query: str, concurrency: int, duration_s: float, max_requests: int
) -> RunResult:
    """One cell of the table: a closed loop, with the departments' request counts around it."""
    async with aiohttp.ClientSession() as admin:
        before = await upstream_stats(admin, target.mocks_url)
        cpu_before = cpu_seconds(target.process.pid)
        load = await closed_loop(target.url, query, concurrency, duration_s, max_requests)
        cpu_after = cpu_seconds(target.process.pid)
        after = await upstream_stats(admin, target.mocks_url)
    delta = stats_delta(before, after)
    calls = sum(sum(paths.values()) for paths in delta.values())
    count = len(load.latencies_s)
    cpu = None
    if cpu_before is not None and cpu_after is not None and load.elapsed_s > 0:
        cpu = round(100 * (cpu_after - cpu_before) / load.elapsed_s, 1)
    return RunResult(
        query=name,
        cache=cache,
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


# -- phases ------------------------------------------------------------------------------------------


async def prepare_mocks(mocks_url: str, process: Process, latency_ms: int) -> list[str]:
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, f"{mocks_url}/_admin/departments", process)
        departments = await list_departments(session, mocks_url)
        await set_latency(session, mocks_url, departments, latency_ms)
    return departments


async def bench_gateway(
    target: Target, cache: str, args: argparse.Namespace
) -> tuple[list[str], list[RunResult]]:
    """Every query at every concurrency against one gateway; also returns the departments it serves."""
    async with aiohttp.ClientSession() as session:
        ready = await wait_ready(session, f"{target.url}/readyz", target.process)
        for query in QUERIES.values():
            # warm: fills the cache; cold: only opens connections and fetches the OAuth token
            await graphql(session, target.url, query)
    results = []
    for name, query in QUERIES.items():
        for concurrency in args.concurrency:
            result = await measure(target, name, cache, query, concurrency, args.duration, args.max_requests)
            print(format_row(result), flush=True)
            results.append(result)
    return sorted(ready.get("departments", {})), results


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator is not None and denominator else None


async def parallel_check(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """Sequential latency of ``Four`` (cold) against the slowest department: parallel fan-out stays < 2x."""

    async def sequential(query: str) -> RunResult:
        return await measure(target, "check", "cold", query, 1, args.duration, max(5, args.check_requests))

    four = await sequential(QUERIES["four"])
    alone = {d: await sequential(one_department_query(d)) for d in FOUR_DEPARTMENTS}
    slowest_alone = max((r.p50_ms for r in alone.values() if r.p50_ms is not None), default=None)
    per_query = {
        department: {path: round(n / max(1, four.requests), 2) for path, n in paths.items()}
        for department, paths in four.upstream_paths.items()
    }
    return {
        "latency_ms": args.latency_ms,
        "four_departments": list(FOUR_DEPARTMENTS),
        "four_p50_ms": four.p50_ms,
        "four_p99_ms": four.p99_ms,
        "four_requests": four.requests,
        "four_errors": four.errors,
        "four_upstream_per_query": four.upstream_per_query,
        "four_upstream_paths_per_query": per_query,
        "ratio_to_latency": ratio(four.p50_ms, args.latency_ms),
        "alone_p50_ms": {d: r.p50_ms for d, r in alone.items()},
        "alone_upstream_per_query": {d: r.upstream_per_query for d, r in alone.items()},
        "ratio_to_slowest_alone": ratio(four.p50_ms, slowest_alone),
    }


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    results: list[RunResult] = []
    check: dict[str, Any] = {}
    served: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="onestop-bench-") as tmp, Processes(Path(tmp)) as processes:
        try:
            mocks_url = start_mocks(processes)
            mocks = processes.running["mocks"][0]
            departments = asyncio.run(prepare_mocks(mocks_url, mocks, args.latency_ms))
            print(f"mocks at {mocks_url}: {', '.join(departments)}, {args.latency_ms} ms latency each")
            print(f"note: this load generator, the gateway and the mocks share {os.cpu_count()} CPUs")
            print(header(), flush=True)
            for cache, cache_url in CACHE_URLS.items():
                name = f"gateway-{cache}"
                url = start_gateway(processes, name, cache_url, mocks_url, Path(tmp))
                target = Target(url, mocks_url, processes.running[name][0])
                served[cache], rows = asyncio.run(bench_gateway(target, cache, args))
                results.extend(rows)
                if cache == "cold":
                    check = asyncio.run(parallel_check(target, args))
                processes.stop(name)
        except Exception:
            for name in processes.running:
                print(f"--- last lines of {name}'s log ---\n{processes.log_tail(name)}", file=sys.stderr)
            raise
    return {
        "meta": {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "cpu_count": os.cpu_count(),
            "note": "load generator, gateway (1 uvicorn worker) and mocks share the same CPUs",
            "latency_ms": args.latency_ms,
            "duration_s": args.duration,
            "max_requests": args.max_requests,
            "concurrency": args.concurrency,
            "mock_departments": departments,
            "gateway_departments": served,
            "queries": QUERIES,
        },
        "runs": [asdict(r) for r in results],
        "parallel_check": check,
    }


# -- report ------------------------------------------------------------------------------------------

COLUMNS = ("query", "cache", "conc", "req/s", "p50 ms", "p99 ms", "max ms", "upstream/q", "errors", "gw cpu%")


def header() -> str:
    return "{:<9} {:<5} {:>4} {:>8} {:>8} {:>8} {:>8} {:>10} {:>6} {:>7}".format(*COLUMNS)


def number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_row(r: RunResult) -> str:
    return (
        f"{r.query:<9} {r.cache:<5} {r.concurrency:>4} {r.requests_per_s:>8.1f} {number(r.p50_ms):>8} "
        f"{number(r.p99_ms):>8} {number(r.max_ms):>8} {r.upstream_per_query:>10.2f} {r.errors:>6} "
        f"{number(r.gateway_cpu_pct, 0):>7}"
    )


def report(figures: dict[str, Any]) -> str:
    meta, check = figures["meta"], figures["parallel_check"]
    runs = [RunResult(**r) for r in figures["runs"]]
    lines = [
        f"Onestop benchmark: {meta['cpu_count']} CPUs shared by the load generator, the gateway (one worker)"
        f" and the mocks; departments answer after {meta['latency_ms']} ms; {meta['duration_s']} s a row.",
        header(),
        *(format_row(r) for r in sorted(runs, key=lambda r: (r.query, r.cache, r.concurrency))),
    ]
    failures = Counter[str]()
    for r in runs:
        failures.update(r.failure_kinds)
    if failures:
        lines.append("failures: " + ", ".join(f"{kind} x{n}" for kind, n in failures.most_common()))
    missing = set(meta["mock_departments"]) - set(meta["gateway_departments"].get("cold", []))
    if missing:
        lines.append(f"departments the gateway does not serve: {', '.join(sorted(missing))}")
    if check:
        ratio = check["ratio_to_latency"]
        verdict = "n/a" if ratio is None else ("ok" if ratio < 2 else "NOT parallel enough")
        alone = ", ".join(f"{d} {ms:.0f}" for d, ms in check["alone_p50_ms"].items())
        lines += [
            f"parallel check ({len(check['four_departments'])} departments, cold, sequential): "
            f"p50 {check['four_p50_ms']:.1f} ms = {ratio}x the {check['latency_ms']} ms department latency "
            f"(expect well under 2x: {verdict}); {check['four_upstream_per_query']} upstream calls per query",
            f"  each department alone, p50 ms: {alone}; "
            f"Four / slowest alone = {check['ratio_to_slowest_alone']}x",
        ]
    return "\n".join(lines)


# -- entry point -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: concurrency 1,16 for 2 s each")
    parser.add_argument("--latency-ms", type=int, default=50, help="latency of every department (default 50)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per row (default 5)")
    parser.add_argument("--concurrency", default="1,4,16,64", help="comma-separated client counts")
    parser.add_argument("--max-requests", type=int, default=20_000, help="request cap a row (default 20000)")
    parser.add_argument("--check-requests", type=int, default=20, help="requests a parallel-check row")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.concurrency, args.duration = "1,16", 2.0
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if not args.concurrency or min(args.concurrency) < 1 or args.duration <= 0 or args.latency_ms < 0:
        parser.error("concurrency must be positive integers, duration > 0, latency >= 0")
    return args


def interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the subprocesses too, like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        figures = run_benchmark(args)
    except KeyboardInterrupt:
        print("interrupted; subprocesses stopped", file=sys.stderr)
        return 130
    except (RuntimeError, aiohttp.ClientError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print()
    print(report(figures))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
