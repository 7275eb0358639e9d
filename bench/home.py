"""The resident's home screen, measured: `python -m bench.home [--requests N] [--latency-ms 50]`.

One query gives profile, open cases, eligibility for every service, upcoming appointments and unpaid
bills. The mocks and a gateway run as subprocesses on free loopback ports; every department answers
after ``--latency-ms``. Three runs, each ``--requests`` home queries one after the other (latency, not
throughput):

* cold — the gateway caches nothing (``none://``): every query asks every department for everything,
  catalogues and stations included;
* first visit — the usual state: public data (catalogues, stations) cached, but every query is for a
  resident the gateway has not seen, so all of their personal data is fetched;
* warm — the same residents again, everything from the cache (personal data for its short TTL).

Reported: p50/p99 latency and upstream calls per query (from the mocks' ``/_admin/stats``), next to a
one-department query at the same latency — the yardstick: a parallel fan-out should cost about one
department's latency, not the sum of nineteen.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp

from bench.harness import (
    Processes,
    percentile,
    prepare_mocks,
    start_gateway,
    start_mocks,
    stats_delta,
    upstream_stats,
    wait_ready,
)
from identity.principal import ClientChannel, Role
from identity.tokens import mint

HOME = """query Home {
  me {
    profile { name idNumberMasked age hukouDistrict address }
    cases(status: [SUBMITTED, ACCEPTED, IN_REVIEW, NEEDS_INFO]) {
      id status departmentStatus nextAction expectedCompletion department { id }
    }
    eligibility { service { id name } outcome nextStep { action text } }
    appointments { id startsAt status }
    bills(unpaid: true) { id utility period amountFen dueDate }
  }
}"""
PRIMING = 3
ONE_DEPARTMENT = 'query One { services(first: 1, filter: {departments: ["community"]}) { totalCount } }'


@dataclass
class Figures:
    run: str
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    upstream_per_query: float
    upstream_by_department: dict[str, float]


async def run(
    session: aiohttp.ClientSession,
    url: str,
    mocks_url: str,
    name: str,
    query: str,
    tokens: list[str],
    count: int,
) -> Figures:
    """``count`` queries one after the other, each with the next token; latency and upstream calls."""
    before = await upstream_stats(session, mocks_url)
    latencies: list[float] = []
    errors = 0
    for index in range(count):
        headers = {"Authorization": f"Bearer {tokens[index % len(tokens)]}"} if tokens else {}
        sent = time.perf_counter()
        async with session.post(f"{url}/graphql", json={"query": query}, headers=headers) as response:
            body = await response.json()
        latencies.append(time.perf_counter() - sent)
        if response.status != 200 or body.get("errors"):
            errors += 1
    delta = stats_delta(before, await upstream_stats(session, mocks_url))
    grown = {department: sum(paths.values()) for department, paths in delta.items()}
    return Figures(
        run=name,
        requests=count,
        errors=errors,
        p50_ms=round(1000 * percentile(latencies, 50), 1),
        p99_ms=round(1000 * percentile(latencies, 99), 1),
        max_ms=round(1000 * max(latencies), 1),
        upstream_per_query=round(sum(grown.values()) / count, 2),
        upstream_by_department={d: round(n / count, 2) for d, n in sorted(grown.items()) if n},
    )


async def resident_tokens(
    session: aiohttp.ClientSession, mocks_url: str, secret: str, count: int
) -> list[str]:
    """Tokens for ``count`` residents of the mock world (fixtures first, then ordinary ones)."""
    async with session.get(f"{mocks_url}/_admin/fixtures", params={"sample": str(count)}) as response:
        fixtures = await response.json()
    return [
        mint(secret, r["id_number"], Role.RESIDENT, channel=ClientChannel.APP)
        for r in fixtures["residents"][:count]
    ]


async def bench_gateway(
    processes: Processes, mocks_url: str, cache_url: str, scratch: Path, requests: int
) -> list[Figures]:
    """One gateway; with no cache: the cold run; with one: first visits, then the same residents warm."""
    secret = secrets.token_urlsafe(32)
    name = "cold" if cache_url == "none://" else "cached"
    env = {
        "ONESTOP_CACHE_URL": cache_url,
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{scratch / f'{name}.db'}",
        "ONESTOP_JWT_SECRET": secret,
    }
    url, gateway = start_gateway(processes, name, mocks_url, env)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            await wait_ready(session, f"{url}/readyz", gateway)
            tokens = await resident_tokens(session, mocks_url, secret, requests + PRIMING)
            primers, measured = tokens[:PRIMING], tokens[PRIMING:]
            # connections and OAuth2 tokens (and, when caching, catalogues and stations) before measuring
            await run(session, url, mocks_url, "prime", HOME, primers, PRIMING)
            await run(session, url, mocks_url, "prime", ONE_DEPARTMENT, [], 3)
            if name == "cold":
                return [
                    await run(session, url, mocks_url, "cold: one department", ONE_DEPARTMENT, [], requests),
                    await run(session, url, mocks_url, "cold: home screen", HOME, measured, requests),
                ]
            return [
                await run(session, url, mocks_url, "warm: one department", ONE_DEPARTMENT, [], requests),
                await run(session, url, mocks_url, "first visit: home screen", HOME, measured, requests),
                await run(session, url, mocks_url, "warm: home screen", HOME, measured, requests),
            ]
    finally:
        processes.stop(name)


async def main_async(args: argparse.Namespace) -> list[Figures]:
    with tempfile.TemporaryDirectory(prefix="onestop-home-") as directory:
        scratch = Path(directory)
        with Processes(scratch) as processes:
            return await _measure(processes, scratch, args)


async def _measure(processes: Processes, scratch: Path, args: argparse.Namespace) -> list[Figures]:
    """Both gateways over one set of mocks."""
    mocks_url = start_mocks(processes)
    await prepare_mocks(mocks_url, processes.running["mocks"][0], args.latency_ms)
    figures = await bench_gateway(processes, mocks_url, "none://", scratch, args.requests)
    figures += await bench_gateway(processes, mocks_url, "memory://", scratch, args.requests)
    return figures


def report(figures: list[Figures], latency_ms: int) -> str:
    lines = [
        f"departments answer after {latency_ms} ms; queries sent one after the other",
        f"{'run':<28}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'upstream/q':>12}{'errors':>8}",
    ]
    for f in figures:
        row = f"{f.run:<28}{f.p50_ms:>9.1f}{f.p99_ms:>9.1f}{f.max_ms:>9.1f}{f.upstream_per_query:>12.2f}"
        lines.append(row + f"{f.errors:>8}")
    for f in figures:
        if "home" in f.run:
            calls = ", ".join(f"{d} {n:g}" for d, n in f.upstream_by_department.items())
            lines.append(f"{f.run} upstream calls per query: {calls or 'none'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.home", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="home queries per run (50)")
    parser.add_argument("--latency-ms", type=int, default=50, help="every department's latency (50)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    figures = asyncio.run(main_async(args))
    print(report(figures, args.latency_ms))
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2))


if __name__ == "__main__":
    main()
