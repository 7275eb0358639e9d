"""Two real gateway processes over one database (SQLite file, PostgreSQL): identical submissions sent to
both at once — a client retrying through a load balancer — make one case and one department call."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from mocks.server import RunningMocks
from tests.access_support import resident_token
from tests.appointments_support import gateway_processes, residents
from tests.conftest import Admin


async def test_identical_submissions_on_two_gateway_processes_make_one_case(
    mocks: RunningMocks, database_url: str, tmp_path: Any, admin: Admin
) -> None:
    """A client retrying through a load balancer: the same submission reaches both processes at once."""
    values = {
        "serviceId": "SC-001",
        "idempotencyKey": secrets.token_hex(12),
        "documents": ["居民身份证", "经营场所证明"],
    }
    token = resident_token(residents(1, skip=300)[0])
    async with gateway_processes(mocks, database_url, tmp_path) as urls:
        async with httpx.AsyncClient(timeout=60) as client:

            async def submit(url: str) -> dict[str, Any]:
                response = await client.post(
                    f"{url}/graphql",
                    json={"query": SUBMIT, "variables": {"in": values}},
                    headers={"authorization": f"Bearer {token}"},
                )
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                return body

            bodies = await asyncio.gather(*(submit(urls[i % 2]) for i in range(10)))
    ids = {b["data"]["submitApplication"]["id"] for b in bodies if not b.get("errors")}
    assert len(ids) == 1 and not [b for b in bodies if b.get("errors")], bodies
    assert (await admin.paths("market-regulation")).get("/market-regulation/api/applications") == 1


SUBMIT = "mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { id status } }"
