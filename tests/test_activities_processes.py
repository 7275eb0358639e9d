"""Two real gateway processes over one PostgreSQL database: 100 residents signing up for 10 places at
once, half on each process, get 10 places and 90 places on the waiting list in order; a place freed by
cancels racing on both processes goes to the first waiting once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from mocks.server import RunningMocks
from tests.access_support import resident_token
from tests.activities_support import CANCEL, CREATE, MINE, SIGN_UP, STAFF, offer, outcome
from tests.appointments_support import gateway_processes, residents
from tests.conftest import fresh_postgres

RESIDENTS = 100
PLACES = 10


async def test_100_sign_ups_for_10_places_on_two_processes(mocks: RunningMocks, tmp_path: Path) -> None:
    async with gateway_processes(mocks, await fresh_postgres(), tmp_path) as urls:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:

            async def ask(url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
                response = await client.post(
                    f"{url}/graphql",
                    json={"query": query, "variables": variables},
                    headers={"authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                return body

            created = await ask(urls[0], STAFF, CREATE, input=offer(places=PLACES))
            activity = created["data"]["createActivity"]["id"]
            people = residents(RESIDENTS)
            bodies = await asyncio.gather(
                *(
                    ask(urls[i % 2], resident_token(r), SIGN_UP, activity=activity)
                    for i, r in enumerate(people)
                )
            )
            assert Counter(outcome(b) for b in bodies) == {"SIGNED_UP": PLACES, "WAITING": RESIDENTS - PLACES}
            ahead = sorted(
                b["data"]["signUpForActivity"]["waitingAhead"] for b in bodies if outcome(b) == "WAITING"
            )
            assert ahead == list(range(RESIDENTS - PLACES))

            # one place freed by the same cancel sent to both processes at once: one promotion
            index = next(i for i, b in enumerate(bodies) if outcome(b) == "SIGNED_UP")
            token = resident_token(people[index])
            sign_up = bodies[index]["data"]["signUpForActivity"]["id"]
            cancels = await asyncio.gather(*(ask(urls[i % 2], token, CANCEL, id=sign_up) for i in range(6)))
            assert sum(1 for c in cancels if c.get("data") and c["data"]["cancelActivitySignUp"]) == 1
            first = next(
                i
                for i, b in enumerate(bodies)
                if outcome(b) == "WAITING" and b["data"]["signUpForActivity"]["waitingAhead"] == 0
            )
            mine = await ask(urls[1], resident_token(people[first]), MINE)
            assert mine["data"]["me"]["activities"][0]["status"] == "SIGNED_UP"
            promoted = 0
            for i, b in enumerate(bodies):
                if outcome(b) == "WAITING":
                    listed = await ask(urls[i % 2], resident_token(people[i]), MINE)
                    promoted += listed["data"]["me"]["activities"][0]["status"] == "SIGNED_UP"
            assert promoted == 1
