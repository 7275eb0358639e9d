"""Connectors against the real mock departments: auth kinds, pagination styles, token lifecycle.

These drive one department's adapter directly (no GraphQL), with the cache off, and count what the
department really received through the mocks' admin stats.
"""

from __future__ import annotations

import math

import pytest

from connectors.errors import UpstreamCode, UpstreamError
from connectors.registry import Department
from mocks.world import DEFAULT_SEED, build_world
from tests.conftest import Admin, Connect

WORLD = build_world(DEFAULT_SEED)


def seeded(department: str) -> set[str]:
    return {s.code for s in WORLD.services if s.department == department}


async def codes(department: Department) -> list[str]:
    fetched = await department.adapter.catalog()
    assert fetched.value.problems == ()
    return [r.id for r in fetched.value.records]


async def test_oauth2_token_is_fetched_once_and_renewed_when_refused(connect: Connect, admin: Admin) -> None:
    hrss = connect("hrss")
    for _ in range(3):
        assert set(await codes(hrss)) == seeded("hrss")
    paths = await admin.paths("hrss")
    assert paths.get("/hrss/oauth/token") == 1  # one token served three calls
    await admin.http.post(f"{admin.url}/_admin/tokens/expire")
    assert set(await codes(hrss)) == seeded("hrss")  # 401, new token, same attempt succeeds
    assert (await admin.paths("hrss")).get("/hrss/oauth/token") == 2


@pytest.mark.parametrize(
    ("department", "variable"),
    [
        ("hrss", {"HRSS_CLIENT_SECRET": "wrong"}),
        ("health", {"HEALTH_HMAC_SECRET": "wrong"}),
        ("civil-affairs", {"CIVIL_AFFAIRS_PASSWORD": "wrong"}),
        ("community", {"COMMUNITY_API_KEY": "wrong"}),
    ],
)
async def test_refused_credentials_are_auth_failed_and_not_retried(
    connect: Connect, admin: Admin, department: str, variable: dict[str, str]
) -> None:
    connector = connect(department, **variable)
    with pytest.raises(UpstreamError) as caught:
        await connector.adapter.catalog()
    assert caught.value.code is UpstreamCode.AUTH_FAILED
    assert caught.value.department == department
    assert "wrong" not in caught.value.message  # no secret in what clients may see
    assert await admin.requests(department) == 1  # a refusal will not change on retry


async def test_offset_pagination_walks_every_page(connect: Connect, admin: Admin) -> None:
    hrss = connect("hrss", lambda t: t.replace("limit: 100", "limit: 2"))
    got = await codes(hrss)
    assert sorted(got) == sorted(seeded("hrss"))
    pages = (await admin.paths("hrss")).get("/hrss/export/services.csv")
    assert pages == math.ceil(len(seeded("hrss")) / 2)


async def test_cursor_pagination_follows_the_cursor_to_the_end(connect: Connect, admin: Admin) -> None:
    health = connect("health", lambda t: t.replace("limit: 20", "limit: 2"))
    got = await codes(health)
    assert sorted(got) == sorted(seeded("health")) and len(got) == len(set(got))
    pages = (await admin.paths("health")).get("/health/v2/services")
    assert pages == math.ceil(len(seeded("health")) / 2)


async def test_page_pagination_fetches_pages_after_the_first_in_parallel(
    connect: Connect, admin: Admin
) -> None:
    await admin.fault("community", latency_ms=200)
    community = connect("community", lambda t: t.replace("size: 500", "size: 100"))
    import time

    started = time.monotonic()
    fetched = await community.adapter.stations()
    elapsed = time.monotonic() - started
    assert len(fetched.value.records) == len(WORLD.stations) == 1300
    assert (await admin.paths("community")).get("/community/api/zhandian/list") == 13
    assert elapsed < 1.5, f"13 pages at 200 ms took {elapsed:.2f}s: not fetched in parallel"


async def test_stations_keep_their_seeded_attributes(connect: Connect) -> None:
    fetched = await connect("community").adapter.stations()
    by_id = {s.id: s for s in fetched.value.records}
    for seeded_station in WORLD.stations[::97]:
        station = by_id[seeded_station.code]
        assert (station.latitude, station.longitude) == (seeded_station.lat, seeded_station.lon)
        assert station.service_ids == seeded_station.services
        assert station.town == seeded_station.town
        assert station.opening_hours  # parsed from "1-5 09:00-17:00;6 09:00-12:00"
