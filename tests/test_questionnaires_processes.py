"""1,000 residents answer one questionnaire through two real gateway processes sharing one store
(SQLite file, PostgreSQL); some answer twice, on both processes at once. Results: one answer each, the
ranking per town, and no group under 5 shown."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mocks.server import RunningMocks
from tests.access_support import resident_token
from tests.appointments_support import gateway_processes, residents
from tests.questionnaires_support import (
    ANSWER,
    CLOSE,
    MIXED_TOWN,
    PUBLISH,
    RESULTS,
    URBAN_STATION,
    URBAN_TOWN,
    VILLAGE_STATION,
    answer_values,
    draft,
    groups,
    planner_token,
    ranking,
)

# (station, answers there, ranking given): two stations get fewer than 5 answers
PLAN = (
    (URBAN_STATION, 420, ["SQ-001", "MZ-005", "WJ-001"]),
    ("ZD-0002", 3, ["SQ-001", "MZ-005", "WJ-001"]),  # Lujiazui: small
    ("ZD-0003", 90, ["MZ-005", "SQ-001", "WJ-001"]),
    (VILLAGE_STATION, 300, ["NY-002", "WJ-001", "SQ-001"]),
    ("ZD-0388", 2, ["NY-002", "WJ-001", "SQ-001"]),  # a village of Chuansha: small
    ("ZD-0384", 185, ["WJ-001", "NY-002", "SQ-001"]),
)
TWICE = 60  # residents who answer again, on both processes at once
IN_FLIGHT = 24


async def test_a_thousand_residents_answer_through_two_gateway_processes(
    mocks: RunningMocks, database_url: str, tmp_path: Any
) -> None:
    people = residents(sum(n for _, n, _ in PLAN))
    assert len(people) == 1000
    jobs: list[tuple[str, dict[str, Any]]] = []
    start = 0
    for station, count, ranked in PLAN:
        for person in people[start : start + count]:
            jobs.append((resident_token(person), {"station": station, "ranked": ranked}))
        start += count
    async with gateway_processes(mocks, database_url, tmp_path) as urls:
        async with httpx.AsyncClient(timeout=120) as client:
            qid = await _publish(client, urls[0])
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def answer(n: int, token: str, plan: dict[str, Any], rating: int) -> dict[str, Any]:
                values = answer_values(qid, plan["station"], plan["ranked"], rating=rating)
                async with gate:
                    response = await client.post(
                        f"{urls[n % 2]}/graphql",
                        json={"query": ANSWER, "variables": {"in": values}},
                        headers={"authorization": f"Bearer {token}"},
                    )
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                assert not body.get("errors"), body
                return body

            # first a different rating from the residents who answer twice: the later answer must win
            await asyncio.gather(*(answer(n, t, p, 1) for n, (t, p) in enumerate(jobs[:TWICE])))
            again = [answer(n, t, p, 4) for n, (t, p) in enumerate(jobs)]
            again += [answer(n + 1, t, p, 4) for n, (t, p) in enumerate(jobs[:TWICE])]  # the other process
            await asyncio.gather(*again)
            closed = await _ask(client, urls[1], CLOSE, id=qid)
            assert not closed.get("errors"), closed
            body = await _ask(client, urls[1], RESULTS, id=qid)
    assert not body.get("errors"), body
    found = body["data"]["questionnaireResults"]
    assert found["answers"] == 1000  # one answer per resident, whatever they sent
    towns = groups(body, "TOWN")
    assert towns[URBAN_TOWN]["answers"] == 513 and towns[MIXED_TOWN]["answers"] == 487
    assert ranking(towns[URBAN_TOWN]) == ["SQ-001", "MZ-005", "WJ-001"]
    assert ranking(towns[MIXED_TOWN]) == ["NY-002", "WJ-001", "SQ-001"]
    assert all(g["answers"] is None or g["answers"] >= 5 for g in found["groups"])
    stations = groups(body, "STATION")
    assert stations["ZD-0002"]["suppressed"] == "SMALL_GROUP" and stations["ZD-0002"]["demand"] is None
    assert stations["ZD-0388"]["suppressed"] == "SMALL_GROUP"
    hidden = {k for k, g in stations.items() if g["suppressed"]}
    assert hidden == {"ZD-0002", "ZD-0003", "ZD-0388", "ZD-0384"}  # each small one with a partner
    # rural (302) minus the one shown rural station (300) would be ZD-0388's 2: the areas are hidden
    assert {k: g["suppressed"] for k, g in groups(body, "AREA").items()} == {
        "URBAN": "COMPLEMENTARY",
        "RURAL": "COMPLEMENTARY",
    }
    ratings = [g["ratings"] for g in groups(body, "DISTRICT").values()]
    assert ratings == [[{"question": 2, "count": 1000, "mean": 4.0}]]  # every second answer replaced


async def _publish(client: httpx.AsyncClient, url: str) -> str:
    body = await _ask(client, url, PUBLISH, token=planner_token(), **{"in": draft()})
    assert not body.get("errors"), body
    return str(body["data"]["publishQuestionnaire"]["id"])


async def _ask(
    client: httpx.AsyncClient, url: str, query: str, token: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token or planner_token()}"}
    response = await client.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
