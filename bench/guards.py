"""What the hardening costs per request: `python -m bench.guards [--requests N] [--rounds R]`.

Drives the real app in process through ASGI (no sockets, no departments: a flat query answered by the
schema alone, ``{ __typename }``) so the figure is the Python overhead of the guards, not the network's
or the departments'. Three set-ups, alternated round by
round so that a busy machine hurts them alike:

* ``bare``: no guard middleware, no query-limit extension (the gateway before the hardening);
* ``default``: what a development gateway runs (in-flight limit, body limit, limiter; no rate limits);
* ``production``: plus CORS, a per-client rate limit (memory) and a channel limit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.asgi import Call, caller
from config import Settings
from middleware.body import BodyLimit
from middleware.inflight import InFlightLimit
from middleware.ratelimit import RateLimit
from schema.limits import QueryLimiter
from server import create_app

FLAT = "{ __typename }"
GUARDS = (InFlightLimit, RateLimit, BodyLimit)


def strip_guards(app: Any) -> None:
    """The app as it was before the hardening: no guard middleware, no query-limit extension."""
    app.user_middleware = [m for m in app.user_middleware if m.cls not in GUARDS]
    app.middleware_stack = None
    view = next(route.endpoint for route in app.routes if getattr(route, "path", "") == "/graphql")
    schema = view.schema
    schema.extensions = [e for e in schema.extensions if not isinstance(_instance(e), QueryLimiter)]


def _instance(factory: Any) -> Any:
    return factory() if callable(factory) and not isinstance(factory, type) else None


async def run(requests: int, rounds: int) -> dict[str, list[float]]:
    directory = Path(tempfile.mkdtemp(prefix="onestop-guards-"))
    base: dict[str, Any] = {"database_url": f"sqlite+aiosqlite:///{directory / 'bench.db'}", "tune_gc": False}
    setups = {
        "bare": Settings(**base),
        "default": Settings(**base),
        "production": Settings(
            **base,
            cors_origins=["https://app.example"],
            rate_limit_client=1e9,
            rate_limit_channels={"app": 1e9},
            digest_key="onestop-bench-digest-key",  # production refuses to start without one
        ),
    }
    calls: dict[str, Call] = {}
    contexts = []
    for name, settings in setups.items():
        app = create_app(settings)
        if name == "bare":
            strip_guards(app)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        contexts.append(lifespan)
        headers = [(b"origin", b"https://app.example"), (b"x-onestop-channel", b"app")]
        calls[name] = caller(app, FLAT, headers, client="10.1.2.3")
    results: dict[str, list[float]] = {name: [] for name in setups}
    try:
        for call in calls.values():
            for _ in range(200):  # warm the caches
                assert (await call())[0] == 200
        for _ in range(rounds):
            for name, call in calls.items():
                started = time.perf_counter()
                for _ in range(requests):
                    await call()
                results[name].append(requests / (time.perf_counter() - started))
    finally:
        for lifespan in contexts:
            await lifespan.__aexit__(None, None, None)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(run(args.requests, args.rounds))
    bare = statistics.median(results["bare"])
    for name, rates in results.items():
        median = statistics.median(rates)
        per_request_us = (1 / median - 1 / bare) * 1e6
        print(
            f"{name:>11}: {median:7.0f} requests/s (median of {len(rates)}), "
            f"{per_request_us:+6.1f} µs/request vs bare"
        )


if __name__ == "__main__":
    main()
