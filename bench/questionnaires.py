"""A questionnaire's results over 10,000 answers, timed: `python -m bench.questionnaires [--answers N]`.

The mocks and a gateway run as subprocesses on free loopback ports (production mode, one worker). A
planner publishes a questionnaire for three towns over HTTP; ``--answers`` answers (ranked services,
a rating, some free text) are then written straight into the gateway's store — loading them through
the API would time the answering, not the results — spread over the towns' stations; the planner
closes it and asks ``questionnaireResults`` (every group, demand, ratings, gaps and the CSV)
``--requests`` times, one after the other. Done on SQLite and, when the server answers, on a
PostgreSQL database of the run's own (created and dropped).

Results are ``GROUP BY`` queries per station (``store.questionnaire_book.tallies``) rolled up in Python:
the time should grow with the number of stations, hardly with the number of answers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.harness import Processes, percentile, prepare_mocks, start_gateway, start_mocks, wait_ready
from bench.profile import Backends, reachable
from domain.questionnaires import area_of
from domain.records import StationRecord
from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.world import DEFAULT_SEED, build_world
from store.questionnaires import AnswerItemRow, AnswerRow

SECRET = "onestop-bench-questionnaire-secret-32-bytes"  # noqa: S105 - the bench's own HS256 tokens
TOWNS = ("川沙新镇", "三林镇", "陆家嘴街道")
SERVICES = ("SQ-001", "MZ-005", "WJ-001", "GY-001", "ZY-001", "NY-002", "YB-001", "SW-001")
PUBLISH = """mutation($in: PublishQuestionnaireInput!) { publishQuestionnaire(input: $in) { id } }"""
CLOSE = "mutation($id: ID!) { closeQuestionnaire(id: $id) { id } }"
TOWNS_ONLY = """query Towns($id: ID!) { questionnaireResults(id: $id) {
  answers groups(dimension: TOWN) { key suppressed answers
    demand { question serviceId points position } } } }"""
RESULTS = """query Results($id: ID!) { questionnaireResults(id: $id) {
  answers csv freeTexts { question texts }
  groups { dimension key suppressed answers demand { question serviceId named points meanRank position }
    ratings { question count mean } missingServices { serviceId named } } } }"""


@dataclass
class Figures:
    backend: str
    answers: int
    groups: int
    suppressed: int
    csv_bytes: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    towns_p50_ms: float  # only the ranking per town


def planner() -> str:
    return mint(SECRET, "planner-bench", Role.PLANNER, channel=ClientChannel.UNKNOWN)


async def ask(session: aiohttp.ClientSession, url: str, query: str, **variables: Any) -> dict[str, Any]:
    async with session.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {planner()}"},
    ) as response:
        body: dict[str, Any] = await response.json()
    if body.get("errors"):
        raise RuntimeError(f"{query.split('(')[0]}: {body['errors']}")
    return body


def questionnaire_input() -> dict[str, Any]:
    now = time.time()
    return {
        "title": "您最需要哪些服务？",
        "titleEn": "Which services do you need most?",
        "questions": [
            {
                "kind": "RANK_SERVICES",
                "text": "排序",
                "textEn": "Rank",
                "serviceIds": SERVICES,
                "maxChoices": 3,
            },
            {"kind": "CHOOSE_SERVICES", "text": "选择", "textEn": "Choose", "serviceIds": SERVICES},
            {"kind": "RATE_STATION", "text": "评价", "textEn": "Rate"},
            {"kind": "FREE_TEXT", "text": "建议", "textEn": "Anything else"},
        ],
        "towns": list(TOWNS),
        "opensAt": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 60)),
        "closesAt": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 86400)),
    }


def stations() -> list[StationRecord]:
    world = build_world(DEFAULT_SEED)
    return [
        StationRecord(s.code, "community", s.name, s.town, s.address, s.lat, s.lon, s.phone, (), s.services)
        for s in world.stations
        if s.town in TOWNS
    ]


async def load_answers(database_url: str, questionnaire: str, count: int) -> None:
    """``count`` answers and their items, in a few bulk inserts (the fixture, not what is timed)."""
    from datetime import UTC, datetime

    rng = random.Random(16)
    places = stations()
    weights = [1 + (i % 7) ** 2 for i in range(len(places))]  # some stations busy, some nearly empty
    now = datetime.now(UTC)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            answers = []
            for n in range(count):
                station = rng.choices(places, weights)[0]
                answers.append(
                    {
                        "questionnaire_id": questionnaire,
                        "resident_digest": secrets.token_hex(16),
                        "station_id": station.id,
                        "town": station.town,
                        "area": area_of(station).value,
                        "channel": rng.choice(("app", "wechat", "kiosk", "counter")),
                        "entered_by": f"bench-{n}",
                        "session_id": None,
                        "answered_at": now,
                        "revision": 1,
                    }
                )
            await connection.execute(insert(AnswerRow), answers)
            ids = (
                await connection.scalars(
                    select(AnswerRow.id).where(AnswerRow.questionnaire_id == questionnaire)
                )
            ).all()
            items: list[dict[str, Any]] = []
            for answer_id in ids:
                ranked = rng.sample(SERVICES, 3)
                base = {
                    "answer_id": answer_id,
                    "questionnaire_id": questionnaire,
                    "rating": None,
                    "text": None,
                }
                items += [
                    base | {"question": 0, "service_id": s, "rank": r + 1} for r, s in enumerate(ranked)
                ]
                items += [base | {"question": 1, "service_id": s, "rank": None} for s in ranked[:2]]
                items.append(
                    base | {"question": 2, "service_id": None, "rank": None, "rating": rng.randint(1, 5)}
                )
                if rng.random() < 0.2:
                    items.append(
                        base
                        | {
                            "question": 3,
                            "service_id": None,
                            "rank": None,
                            "text": f"建议{rng.randint(1, 500)}",
                        }
                    )
            await connection.execute(insert(AnswerItemRow), items)
    finally:
        await engine.dispose()


async def bench_backend(
    processes: Processes, mocks_url: str, backend: str, database_url: str, args: argparse.Namespace
) -> Figures:
    env = {"ONESTOP_DATABASE_URL": database_url, "ONESTOP_JWT_SECRET": SECRET}
    url, process = start_gateway(processes, f"gateway-{backend}", mocks_url, env)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            await wait_ready(session, f"{url}/readyz", process)
            published = await ask(session, url, PUBLISH, **{"in": questionnaire_input()})
            qid = published["data"]["publishQuestionnaire"]["id"]
            await load_answers(database_url, qid, args.answers)
            await ask(session, url, CLOSE, id=qid)
            first = await ask(session, url, RESULTS, id=qid)  # stations fetched and cached: not timed
            full = await timed(session, url, RESULTS, qid, args.requests)
            towns = await timed(session, url, TOWNS_ONLY, qid, args.requests)
    finally:
        processes.stop(f"gateway-{backend}")
    found = first["data"]["questionnaireResults"]
    return Figures(
        backend,
        int(found["answers"]),
        len(found["groups"]),
        sum(1 for g in found["groups"] if g["suppressed"]),
        len(found["csv"].encode()),
        percentile(full, 50),
        percentile(full, 99),
        max(full),
        percentile(towns, 50),
    )


async def timed(session: aiohttp.ClientSession, url: str, query: str, qid: str, count: int) -> list[float]:
    """Milliseconds of ``count`` queries sent one after the other."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await ask(session, url, query, id=qid)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def main_async(args: argparse.Namespace) -> list[Figures]:
    with tempfile.TemporaryDirectory(prefix="onestop-questionnaires-") as directory:
        scratch = Path(directory)
        with Processes(scratch) as processes:
            mocks_url = start_mocks(processes)
            await prepare_mocks(mocks_url, processes.running["mocks"][0], args.latency_ms)
            sqlite_url = f"sqlite+aiosqlite:///{scratch / 'gateway.db'}"
            figures = [await bench_backend(processes, mocks_url, "sqlite", sqlite_url, args)]
            if not reachable(args.postgres_url, 5432):
                print(f"PostgreSQL at {args.postgres_url} does not answer: SQLite only")
                return figures
            backends = Backends(args.postgres_url, "", f"onestop_bench_q_{secrets.token_hex(4)}", "")
            await backends.create()
            try:
                figures.append(
                    await bench_backend(processes, mocks_url, "postgresql", backends.database_url, args)
                )
            finally:
                await _drop(backends)
            return figures


async def _drop(backends: Backends) -> None:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(
        backends.postgres_admin_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{backends.database}" WITH (FORCE)')
    finally:
        await connection.close()


def report(figures: list[Figures]) -> str:
    lines = [
        "questionnaireResults over HTTP, one after the other: everything (every group's demand, ratings,"
        " gaps, and the CSV), and only the ranking per town (towns p50)",
        f"{'store':<12}{'answers':>9}{'groups':>8}{'hidden':>8}{'csv KB':>8}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'towns p50':>11}",
    ]
    for f in figures:
        lines.append(
            f"{f.backend:<12}{f.answers:>9}{f.groups:>8}{f.suppressed:>8}{f.csv_bytes / 1024:>8.1f}"
            f"{f.p50_ms:>9.1f}{f.p99_ms:>9.1f}{f.max_ms:>9.1f}{f.towns_p50_ms:>11.1f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.questionnaires", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--answers", type=int, default=10_000, help="answers to the questionnaire (10,000)")
    parser.add_argument("--requests", type=int, default=20, help="results queries timed (20)")
    parser.add_argument("--latency-ms", type=int, default=50, help="every department's latency (50)")
    parser.add_argument(
        "--postgres-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="server on which a database of the run's own is created and dropped",
    )
    args = parser.parse_args()
    print(report(asyncio.run(main_async(args))))


if __name__ == "__main__":
    main()
