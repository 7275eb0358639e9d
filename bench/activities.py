"""Sign-up bursts for a station activity: `python -m bench.activities [--sign-ups 500] [--places 50]
[--rounds 3] [--database-url URL]`.

The real app in process through ASGI (no sockets, no departments: signing up for oneself needs none).
Each round a station's staff offer a new activity of ``--places`` places and ``--sign-ups`` residents
(each with their own token) sign up for it all at once; every request goes through the whole stack —
guards, token, access policy, the store's conditional UPDATE, the access-log row. Reported per round:
the burst's wall time, p50/p99 of one sign-up, the gateway process's CPU per sign-up, and the outcome,
checked: exactly ``--places`` signed up, the rest waiting, none over. SQLite by default (a file in a
temporary directory); pass a ``postgresql+asyncpg://`` URL to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.asgi import caller
from bench.harness import percentile
from config import Settings
from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.world import DEFAULT_SEED, build_world
from server import create_app
from services import services_of
from store.activities import HOST_STATION
from store.activity_book import NewActivity

SECRET = "onestop-bench-activities-secret-32-bytes"  # noqa: S105 -- signs the bench's own tokens only
STATION = "ZD-0001"


def sign_up_query(activity_id: str) -> str:
    return f'mutation {{ signUpForActivity(input: {{activityId: "{activity_id}"}}) {{ id status }} }}'


async def one_round(app: Any, tokens: list[str], places: int, round_no: int) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(days=1, hours=round_no)
    new = NewActivity(
        STATION, "插花", "Flower arranging", "CULTURAL", HOST_STATION, None, None,
        start, start + timedelta(hours=2), places, "bench",
    )  # fmt: skip
    activity = await services_of(app).activities.book.create(new, datetime.now(UTC))
    query = sign_up_query(activity.id)
    calls = [caller(app, query, [(b"authorization", f"Bearer {t}".encode())]) for t in tokens]
    latencies: list[float] = []

    async def timed(call: Any) -> str:
        began = time.perf_counter()
        status, body = await call()
        latencies.append((time.perf_counter() - began) * 1000)
        answer = orjson.loads(body)
        if status != 200 or answer.get("errors"):
            return "ERROR " + str(answer.get("errors"))[:200]
        return str(answer["data"]["signUpForActivity"]["status"])

    began, cpu = time.perf_counter(), time.process_time()
    outcomes = Counter(await asyncio.gather(*(timed(c) for c in calls)))
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    after = await services_of(app).activities.book.get(activity.id)
    full = after is not None and after.taken == places
    ok = outcomes == {"SIGNED_UP": places, "WAITING": len(tokens) - places} and full
    return {
        "wall_s": wall,
        "cpu_ms_per_sign_up": cpu * 1000 / len(tokens),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "outcomes": dict(outcomes),
        "ok": ok,
    }


async def run(sign_ups: int, places: int, rounds: int, database_url: str | None) -> list[dict[str, Any]]:
    directory = Path(tempfile.mkdtemp(prefix="onestop-activities-"))
    settings = Settings(
        database_url=database_url or f"sqlite+aiosqlite:///{directory / 'bench.db'}",
        jwt_secret=SECRET,
        tune_gc=False,
        response_cache=False,
        max_in_flight=max(256, sign_ups + 16),  # the burst is the store's to take, not the guard's to refuse
    )
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    people = build_world(DEFAULT_SEED).residents[10 : 10 + sign_ups]
    tokens = [mint(SECRET, r.id_number, Role.RESIDENT, channel=ClientChannel.APP) for r in people]
    try:
        return [await one_round(app, tokens, places, n) for n in range(rounds)]
    finally:
        await lifespan.__aexit__(None, None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sign-ups", type=int, default=500)
    parser.add_argument("--places", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    results = asyncio.run(run(args.sign_ups, args.places, args.rounds, args.database_url))
    store = (args.database_url or "sqlite").split(":")[0]
    for n, r in enumerate(results, 1):
        print(
            f"activities sign-up burst {n} ({store}): {args.sign_ups} at once for {args.places} places in "
            f"{r['wall_s']:.2f} s, p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, "
            f"gateway CPU {r['cpu_ms_per_sign_up']:.1f} ms a sign-up, "
            f"{r['outcomes']} {'ok' if r['ok'] else 'WRONG'}"
        )
    if not all(r["ok"] for r in results):
        raise SystemExit("a burst ended over capacity or with errors")


if __name__ == "__main__":
    main()
