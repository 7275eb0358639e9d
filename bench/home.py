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
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

from identity.principal import ClientChannel, Role
from identity.tokens import mint

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT_S = 90.0

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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def process(args: list[str], env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess that is stopped however the block ends."""
    with log.open("w") as out:
        child = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield child
        finally:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


async def wait_ready(session: aiohttp.ClientSession, url: str, child: subprocess.Popen[bytes]) -> Any:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{url}: exited with {child.returncode} before it was ready")
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                if response.status == 200:
                    return await response.json()
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {READY_TIMEOUT_S:.0f}s")


async def upstream_requests(session: aiohttp.ClientSession, mocks_url: str) -> dict[str, int]:
    async with session.get(f"{mocks_url}/_admin/stats") as response:
        stats = await response.json()
    return {department: int(entry["requests"]) for department, entry in stats.items()}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


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
    before = await upstream_requests(session, mocks_url)
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
    after = await upstream_requests(session, mocks_url)
    grown = {d: after.get(d, 0) - before.get(d, 0) for d in after}
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


def gateway_env(mocks_url: str, cache_url: str, database: Path, secret: str) -> tuple[str, dict[str, str]]:
    port = free_port()
    env = {
        "ONESTOP_HOST": HOST,
        "ONESTOP_PORT": str(port),
        "ONESTOP_MOCKS_URL": mocks_url,
        "ONESTOP_MODE": "production",
        "ONESTOP_CACHE_URL": cache_url,
        "ONESTOP_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "ONESTOP_JWT_SECRET": secret,
        "ONESTOP_RATE_LIMIT_CLIENT": "0",  # every request of the benchmark comes from one address
        "ONESTOP_LOG_LEVEL": "WARNING",
    }
    return f"http://{HOST}:{port}", env


async def bench_gateway(mocks_url: str, cache_url: str, scratch: Path, requests: int) -> list[Figures]:
    """One gateway; with no cache: the cold run; with one: first visits, then the same residents warm."""
    secret = secrets.token_urlsafe(32)
    name = "cold" if cache_url == "none://" else "cached"
    url, env = gateway_env(mocks_url, cache_url, scratch / f"{name}.db", secret)
    with process([sys.executable, str(ROOT / "server.py")], env, scratch / f"{name}.log") as gateway:
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


async def main_async(args: argparse.Namespace) -> list[Figures]:
    with tempfile.TemporaryDirectory(prefix="onestop-home-") as directory:
        scratch = Path(directory)
        mocks_port = free_port()
        mocks_url = f"http://{HOST}:{mocks_port}"
        mocks_args = [sys.executable, "-m", "mocks", "--host", HOST, "--port", str(mocks_port)]
        with process(mocks_args, {}, scratch / "mocks.log") as mocks:
            async with aiohttp.ClientSession() as session:
                departments = await wait_ready(session, f"{mocks_url}/_admin/departments", mocks)
                for department in departments:
                    fault = {"latency_ms": args.latency_ms}
                    async with session.put(f"{mocks_url}/_admin/faults/{department['id']}", json=fault) as r:
                        r.raise_for_status()
            figures = await bench_gateway(mocks_url, "none://", scratch, args.requests)
            figures += await bench_gateway(mocks_url, "memory://", scratch, args.requests)
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
