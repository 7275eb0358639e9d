"""CPU per request of warm queries, in process: `python -m bench.cpu [--requests N] [--rounds R]`.

The gateway's own cost, without sockets or a load generator: the real app (middleware, view, schema,
resolvers, connectors with every department's data in the memory cache) is called through ASGI, one
request after the other, and ``time.process_time`` over ``--requests`` requests gives CPU per request
(the mocks run in a subprocess and are only asked while warming up). The median of ``--rounds`` is
reported, for:

* ``catalogue``: a flat three-department catalogue page (10 services, their department);
* ``stations``: stations within 15 minutes' walk with their opening hours (community's 1,300);
* ``home``: a resident's home screen (``bench/home.py``'s query; personal data cached, access log
  written to SQLite on every request);
* ``catalogue, response cache``: the catalogue again with the whole-response cache on (served from it).

All but the last run with ``ONESTOP_RESPONSE_CACHE=off``: that is the cost of executing a query.

``--profile ROW`` runs only that row under cProfile once warm and prints where its CPU goes (the
functions with the most time of their own, then the most cumulative time): what to make cheaper next.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.asgi import Call, caller
from bench.harness import Processes, start_mocks
from bench.home import HOME, resident_tokens
from config import Settings
from server import create_app

CATALOGUE = """query Catalogue {
  services(first: 10, filter: {departments: ["civil-affairs", "hrss", "health"]}) {
    totalCount
    edges { cursor node { id name nameEn category channels feeFen processingDays department { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
STATIONS = """query Nearby {
  stations(near: {latitude: 31.2304, longitude: 121.5050}, maxWalkMinutes: 15) {
    distanceMeters walkMinutes
    station { id name town address openingHours { weekday opens closes } }
  }
}"""
ROWS = ("catalogue", "stations", "home", "catalogue, response cache")
GRAPHQL_RESPONSE = (b"accept", b"application/graphql-response+json")


async def cpu_per_request(call: Call, requests: int) -> float:
    """Seconds of this process's CPU (all threads: aiosqlite's too) per request."""
    started = time.process_time()
    for _ in range(requests):
        await call()
    return (time.process_time() - started) / requests


async def profiled(call: Call, requests: int, lines: int = 40) -> str:
    """cProfile's view of ``requests`` calls: own time first, then cumulative."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        await call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def settings_for(scratch: Path, name: str, mocks_url: str, secret: str, response_cache: bool) -> Settings:
    return Settings(
        mode="production",
        database_url=f"sqlite+aiosqlite:///{scratch / f'{name}.db'}",
        mocks_url=mocks_url,
        jwt_secret=secret,
        digest_key="onestop-bench-digest-key",
        rate_limit_client=0,
        response_cache=response_cache,
    )


async def measure(
    mocks_url: str, scratch: Path, requests: int, rounds: int, profile: str | None = None
) -> dict[str, list[float]]:
    secret = secrets.token_urlsafe(32)
    async with aiohttp.ClientSession() as session:
        token = (await resident_tokens(session, mocks_url, secret, 1))[0]
    apps = {
        "off": create_app(settings_for(scratch, "off", mocks_url, secret, False)),
        "on": create_app(settings_for(scratch, "on", mocks_url, secret, True)),
    }
    resident = [(b"authorization", f"Bearer {token}".encode())]
    calls: dict[str, Call] = {
        "catalogue": caller(apps["off"], CATALOGUE, [GRAPHQL_RESPONSE]),
        "stations": caller(apps["off"], STATIONS, [GRAPHQL_RESPONSE]),
        "home": caller(apps["off"], HOME, [GRAPHQL_RESPONSE, *resident]),
        "catalogue, response cache": caller(apps["on"], CATALOGUE, [GRAPHQL_RESPONSE]),
    }
    lifespans = [app.router.lifespan_context(app) for app in apps.values()]
    for lifespan in lifespans:
        await lifespan.__aenter__()
    figures: dict[str, list[float]] = {name: [] for name in calls}
    try:
        for name, call in calls.items():
            for _ in range(20):  # connections, tokens, every department's data cached
                status, body = await call()
            if status != 200 or b'"errors"' in body:
                raise SystemExit(f"{name}: {status} {body[:300]!r}")
        if profile is not None:
            print(await profiled(calls[profile], requests))
            return {}
        for _ in range(rounds):  # alternated, so a busy machine hurts every query alike
            for name, call in calls.items():
                figures[name].append(await cpu_per_request(call, requests))
    finally:
        for lifespan in reversed(lifespans):
            await lifespan.__aexit__(None, None, None)
    return figures


def report(figures: dict[str, list[float]], requests: int) -> str:
    lines = [f"CPU per request, warm, in process ({requests} requests a round, median of rounds)"]
    for name, values in figures.items():
        lines.append(f"  {name:<28}{1000 * statistics.median(values):8.3f} ms")
    executed, cached = figures["catalogue"], figures["catalogue, response cache"]
    share = statistics.median(cached) / statistics.median(executed)
    lines.append(f"  response cache hit / executing the catalogue: {share:.2f}")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="onestop-cpu-") as directory:
        scratch = Path(directory)
        with Processes(scratch) as processes:
            mocks_url = start_mocks(processes)
            await _wait_for(mocks_url)
            return await measure(mocks_url, scratch, args.requests, args.rounds, args.profile)


async def _wait_for(mocks_url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{mocks_url}/_admin/departments") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the mock departments did not start")
            await asyncio.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per query per round (500)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is reported (5)")
    parser.add_argument("--profile", choices=ROWS, help="profile one row with cProfile instead")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("onestop").setLevel(logging.WARNING)
    figures = asyncio.run(main_async(args))
    if figures:
        print(report(figures, args.requests))


if __name__ == "__main__":
    main()
