"""Load benchmark of the gateway against the mock departments: `python -m bench.run [--quick]`.

Starts the mocks and gateways as subprocesses on free loopback ports and gives every department the
same latency. Two parts: the cache table (each query, cold = ``none://`` and warm = ``memory://``, at
each concurrency, plus the parallel fan-out check) and the load profile (``bench/profile.py``: one and
two processes on PostgreSQL and Redis, one department failing). Writes the figures as JSON and a chart
of latency against throughput. See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp

from bench.chart import draw
from bench.harness import (
    ROOT,
    Processes,
    RunResult,
    Target,
    Workload,
    format_row,
    graphql,
    header,
    measure,
    prepare_mocks,
    start_gateway,
    start_mocks,
    wait_ready,
)
from bench.profile import run_profile

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


# -- the cache table ---------------------------------------------------------------------------------


async def bench_gateway(
    target: Target, cache: str, args: argparse.Namespace
) -> tuple[list[str], list[RunResult]]:
    """Every query at every concurrency against one gateway; also returns the departments it serves."""
    async with aiohttp.ClientSession() as session:
        ready = await wait_ready(session, f"{target.urls[0]}/readyz", target.processes[0])
        for query in QUERIES.values():
            # warm: fills the cache; cold: only opens connections and fetches the OAuth token
            await graphql(session, target.urls[0], {"query": query})
    results = []
    for name, query in QUERIES.items():
        for concurrency in args.concurrency:
            result = await measure(
                target, Workload(name, query), cache, concurrency, args.duration, args.max_requests
            )
            print(format_row(result), flush=True)
            results.append(result)
    return sorted(ready.get("departments", {})), results


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 2) if numerator is not None and denominator else None


async def parallel_check(target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """Sequential latency of ``Four`` (cold) against the slowest department: parallel fan-out stays < 2x."""

    async def sequential(name: str, query: str) -> RunResult:
        workload = Workload(name, query)
        return await measure(target, workload, "cold", 1, args.duration, max(5, args.check_requests))

    four = await sequential("four", QUERIES["four"])
    alone = {d: await sequential(d, one_department_query(d)) for d in FOUR_DEPARTMENTS}
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


def cache_table(
    processes: Processes, mocks_url: str, tmp: Path, args: argparse.Namespace
) -> tuple[list[RunResult], dict[str, list[str]], dict[str, Any]]:
    results: list[RunResult] = []
    served: dict[str, list[str]] = {}
    check: dict[str, Any] = {}
    for cache, cache_url in CACHE_URLS.items():
        name = f"gateway-{cache}"
        env = {"ONESTOP_CACHE_URL": cache_url, "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / name}.db"}
        url, process = start_gateway(processes, name, mocks_url, env)
        target = Target([url], mocks_url, [process])
        served[cache], rows = asyncio.run(bench_gateway(target, cache, args))
        results.extend(rows)
        if cache == "cold":
            check = asyncio.run(parallel_check(target, args))
        processes.stop(name)
    return results, served, check


# -- both parts --------------------------------------------------------------------------------------


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    table: list[RunResult] = []
    profile: list[RunResult] = []
    notes: list[str] = []
    transients: list[dict[str, Any]] = []
    check: dict[str, Any] = {}
    served: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="onestop-bench-") as tmp, Processes(Path(tmp)) as processes:
        try:
            mocks_url = start_mocks(processes)
            mocks = processes.running["mocks"][0]
            departments = asyncio.run(prepare_mocks(mocks_url, mocks, args.latency_ms))
            print(f"mocks at {mocks_url}: {', '.join(departments)}, {args.latency_ms} ms latency each")
            print(f"note: this load generator, the gateways and the mocks share {os.cpu_count()} CPUs")
            print(header(), flush=True)
            if not args.profile_only:
                table, served, check = cache_table(processes, mocks_url, Path(tmp), args)
            if not args.table_only:
                profile, notes, transients = run_profile(processes, mocks_url, args, tmp)
        except Exception:
            for name in processes.running:
                print(f"--- last lines of {name}'s log ---\n{processes.log_tail(name)}", file=sys.stderr)
            raise
    return {
        "meta": {
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "cpu_count": os.cpu_count(),
            "note": "load generator, gateways (1 uvicorn worker each) and mocks share the same CPUs",
            "latency_ms": args.latency_ms,
            "duration_s": args.duration,
            "max_requests": args.max_requests,
            "concurrency": args.concurrency,
            "failing_department": args.fail,
            "mock_departments": departments,
            "gateway_departments": served,
            "queries": QUERIES,
            "notes": notes,
        },
        "runs": [asdict(r) for r in table],
        "profile": [asdict(r) for r in profile],
        "parallel_check": check,
        "until_breaker_open": transients,
    }


# -- report ------------------------------------------------------------------------------------------


def report(figures: dict[str, Any]) -> str:
    meta, check = figures["meta"], figures["parallel_check"]
    runs = [RunResult(**r) for r in figures["runs"]]
    profile = [RunResult(**r) for r in figures["profile"]]
    lines = [
        f"Onestop benchmark: {meta['cpu_count']} CPUs shared by the load generator, the gateways (one "
        f"worker each) and the mocks; departments answer after {meta['latency_ms']} ms; "
        f"{meta['duration_s']} s a row.",
    ]
    if runs:
        lines += ["", "cache table", header()]
        lines += [format_row(r) for r in sorted(runs, key=lambda r: (r.query, r.scenario, r.concurrency))]
    if profile:
        lines += ["", f"load profile ('1 failing': {meta['failing_department']} hangs, no cache)", header()]
        order = {name: i for i, name in enumerate(dict.fromkeys(r.scenario for r in profile))}
        lines += [
            format_row(r) for r in sorted(profile, key=lambda r: (r.query, order[r.scenario], r.concurrency))
        ]
    lines += meta["notes"]
    for t in figures.get("until_breaker_open", []):
        lines.append(
            f"'1 failing' before the rows: {t['department']} hanging, breaker open after "
            f"{t['seconds_until_breaker_open']} s; catalogue queries meanwhile took "
            f"{t['query_ms_until_open']} ms"
        )
    failures = Counter[str]()
    for r in runs + profile:
        failures.update(r.failure_kinds)
    if failures:
        lines.append("failures: " + ", ".join(f"{kind} x{n}" for kind, n in failures.most_common()))
    missing = set(meta["mock_departments"]) - set(
        meta["gateway_departments"].get("cold", meta["mock_departments"])
    )
    if missing:
        lines.append(f"departments the gateway does not serve: {', '.join(sorted(missing))}")
    if check:
        ratio_ = check["ratio_to_latency"]
        verdict = "n/a" if ratio_ is None else ("ok" if ratio_ < 2 else "NOT parallel enough")
        alone = ", ".join(f"{d} {ms:.0f}" for d, ms in check["alone_p50_ms"].items())
        lines += [
            f"parallel check ({len(check['four_departments'])} departments, cold, sequential): "
            f"p50 {check['four_p50_ms']:.1f} ms = {ratio_}x the {check['latency_ms']} ms department latency "
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
    parser.add_argument("--fail", default="public-security", help="department hanging in '1 failing'")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "ONESTOP_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server for the profile (a database of the run's own is created on it)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("ONESTOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--table-only", action="store_true", help="only the cold/warm cache table")
    parts.add_argument("--profile-only", action="store_true", help="only the load profile")
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
    except (RuntimeError, aiohttp.ClientError, OSError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print()
    print(report(figures))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    chart = draw(
        figures["runs"] + figures["profile"],
        args.out.with_suffix(".png"),
        f"Onestop, {figures['meta']['cpu_count']} CPUs shared, departments at {args.latency_ms} ms",
    )
    print(f"figures written to {args.out}, chart to {chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
