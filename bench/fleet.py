"""Requests/s of 1, 2 and 3 gateway replicas behind HAProxy (``deploy/haproxy.cfg``).

``python -m bench.fleet`` starts the mock departments (every department answering after
``--latency-ms``), then for each mode three gateway processes (production mode, one uvicorn worker
each, their own SQLite store) and HAProxy in front of the first 1, 2, then 3 of them; a closed loop
of ``--concurrency`` aiohttp clients in this process sends each query to HAProxy for ``--duration``
seconds each time. Modes (``--modes``):

* ``cold``: no cache (``none://``): every request asks the departments (identical calls in flight at
  the same moment still share one);
* ``warm``: each replica's memory cache holds the departments' data; the whole-response cache off, so
  every request is executed;
* ``warm+rc``: as warm, with the whole-response cache on (a repeated public query is not executed).

Queries (``--queries``): ``catalogue`` (20 services of every department, with their department) and
``four`` (the flat four-department query of ``bench.run``: community, civil-affairs, hrss, health).

Everything shares this machine: the load generator (this process) and HAProxy use CPU the replicas
cannot, so the report gives their share of the machine beside the figures, and how much of the
machine was busy altogether (other users included).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.harness import (
    HOST,
    ROOT,
    Process,
    Processes,
    Workload,
    closed_loop,
    cpu_seconds,
    free_port,
    percentile,
    prepare_mocks,
    start_gateway,
    start_mocks,
    wait_ready,
)
from bench.run import QUERIES as RUN_QUERIES

QUERIES = {"catalogue": RUN_QUERIES["services"], "four": RUN_QUERIES["four"]}
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
MODES = {
    "cold": {"ONESTOP_CACHE_URL": "none://", "ONESTOP_RESPONSE_CACHE": "false"},
    "warm": {"ONESTOP_CACHE_URL": "memory://", "ONESTOP_RESPONSE_CACHE": "false"},
    "warm+rc": {"ONESTOP_CACHE_URL": "memory://", "ONESTOP_RESPONSE_CACHE": "true"},
}


@dataclass
class Row:
    mode: str
    query: str
    replicas: int
    requests: int
    errors: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    gateway_cpu_ms_per_request: float
    rss_mb: list[float]
    generator_cpu_pct: float  # of the whole machine (all cores)
    haproxy_cpu_pct: float
    machine_busy_pct: float


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu(pid: int) -> float:
    return cpu_seconds(pid) or 0.0


async def haproxy_in_front(processes: Processes, urls: list[str], name: str) -> tuple[str, Process]:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    port = free_port()
    env = {"ONESTOP_LB_BIND": f"{HOST}:{port}", "ONESTOP_LB_INTER": "1s"}
    env |= {f"ONESTOP_GW{i + 1}": url.removeprefix("http://") for i, url in enumerate(urls)}
    process = processes.start(name, [binary, "-db", "-f", str(HAPROXY_CFG)], env)
    url = f"http://{HOST}:{port}"
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, f"{url}/readyz", process)
    return url, process


async def run_row(
    processes: Processes,
    mode: str,
    query: str,
    gateways: list[tuple[str, Process]],
    args: argparse.Namespace,
) -> Row:
    name = f"haproxy-{mode}-{query}-{len(gateways)}"
    lb, proxy = await haproxy_in_front(processes, [url for url, _ in gateways], name)
    workload = Workload(query, QUERIES[query])
    await closed_loop([lb], workload, args.concurrency, 1.0, 10**6)  # warm-up (caches, connections)
    gateway_before = sum(cpu(p.pid) for _, p in gateways)
    proxy_before, own_before, (busy_before, total_before) = cpu(proxy.pid), own_cpu(), machine_busy()
    load = await closed_loop([lb], workload, args.concurrency, args.duration, args.max_requests)
    busy_after, total_after = machine_busy()
    machine_s = load.elapsed_s * (os.cpu_count() or 1)
    count = len(load.latencies_s)
    row = Row(
        mode=mode,
        query=query,
        replicas=len(gateways),
        requests=count,
        errors=sum(load.failures.values()),
        requests_per_s=round(count / load.elapsed_s, 1),
        p50_ms=round(1000 * percentile(load.latencies_s, 50), 1),
        p99_ms=round(1000 * percentile(load.latencies_s, 99), 1),
        gateway_cpu_ms_per_request=round(
            1000 * (sum(cpu(p.pid) for _, p in gateways) - gateway_before) / count, 2
        ),
        rss_mb=[rss_mb(p.pid) for _, p in gateways],
        generator_cpu_pct=round(100 * (own_cpu() - own_before) / machine_s, 1),
        haproxy_cpu_pct=round(100 * (cpu(proxy.pid) - proxy_before) / machine_s, 1),
        machine_busy_pct=round(100 * (busy_after - busy_before) / max(1, total_after - total_before), 1),
    )
    processes.stop(name)
    return row


async def measure(args: argparse.Namespace, scratch: Path) -> list[Row]:
    rows = []
    with Processes(scratch) as processes:
        mocks_url = start_mocks(processes)
        await prepare_mocks(mocks_url, processes.running["mocks"][0], args.latency_ms)
        for mode in args.modes.split(","):
            gateways = [
                start_gateway(
                    processes,
                    f"gw{i}-{mode}",
                    mocks_url,
                    MODES[mode]
                    | {"ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / f'gw{i}-{mode}.db'}"},
                )
                for i in (1, 2, 3)
            ]
            async with aiohttp.ClientSession() as session:
                for url, process in gateways:
                    await wait_ready(session, f"{url}/readyz", process)
            for query in args.queries.split(","):
                for count in (1, 2, 3):
                    row = await run_row(processes, mode, query, gateways[:count], args)
                    print(format_row(row), flush=True)
                    rows.append(row)
            for i in (1, 2, 3):
                processes.stop(f"gw{i}-{mode}")
    return rows


HEADER = (
    f"{'mode':<7} {'query':<9} {'replicas':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms/req':>10} "
    f"{'RSS MB per replica':>20} {'loadgen%':>8} {'haproxy%':>8} {'machine%':>8} {'errors':>6}"
)


def format_row(r: Row) -> str:
    rss = "/".join(f"{m:.0f}" for m in r.rss_mb)
    return (
        f"{r.mode:<7} {r.query:<9} {r.replicas:>8} {r.requests_per_s:>8.1f} {r.p50_ms:>7.1f} "
        f"{r.p99_ms:>7.1f} {r.gateway_cpu_ms_per_request:>10.2f} {rss:>20} {r.generator_cpu_pct:>8.1f} "
        f"{r.haproxy_cpu_pct:>8.1f} {r.machine_busy_pct:>8.1f} {r.errors:>6}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=int, default=20, help="latency of every department (20)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds of load per row (5)")
    parser.add_argument("--concurrency", type=int, default=50, help="clients in the closed loop (50)")
    parser.add_argument("--max-requests", type=int, default=50000, help="upper bound per row")
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"any of {', '.join(MODES)} ({','.join(MODES)})"
    )
    parser.add_argument(
        "--queries", default=",".join(QUERIES), help=f"any of {', '.join(QUERIES)} ({','.join(QUERIES)})"
    )
    args = parser.parse_args()
    unknown = set(args.modes.split(",")) - MODES.keys() | set(args.queries.split(",")) - QUERIES.keys()
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    if not shutil.which("haproxy") and not Path("/usr/sbin/haproxy").exists():
        sys.exit("bench.fleet: haproxy is not installed (make tools installs it)")
    print(
        f"{args.queries} through HAProxy, {args.concurrency} clients, departments at {args.latency_ms} "
        f"ms, {os.cpu_count()} CPUs shared by the load generator, HAProxy, the mocks and the replicas"
    )
    print(
        "loadgen%, haproxy%, machine%: CPU of the whole machine (all cores) during the row; machine% "
        "includes everything running on it (the mocks, other users)"
    )
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="onestop-fleet-") as scratch:
        started = time.monotonic()
        asyncio.run(measure(args, Path(scratch)))
    print(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
