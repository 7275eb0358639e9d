"""The seeded world: 1,300 stations in Pudong, a realistic catalogue, full determinism."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from mocks.server import RunningMocks, start
from mocks.world import BBOX, STATION_COUNT, TOWNS, build_world

KEY = {"X-Api-Key": "community-dev-key"}


async def all_station_rows(http: aiohttp.ClientSession, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for page in (1, 2, 3):
        async with http.get(
            f"{url}/community/api/zhandian/list?pageNo={page}&pageSize=500", headers=KEY
        ) as response:
            rows.extend((await response.json())["data"]["rows"])
    return rows


def test_stations_count_bbox_and_towns() -> None:
    world = build_world()
    lat_min, lat_max, lon_min, lon_max = BBOX
    assert len(world.stations) == STATION_COUNT == 1300
    assert len({s.code for s in world.stations}) == 1300
    assert len({s.name for s in world.stations}) == 1300
    assert all(lat_min <= s.lat <= lat_max and lon_min <= s.lon <= lon_max for s in world.stations)
    assert len(TOWNS) == 36
    assert {s.town for s in world.stations} == {t.name_zh for t in TOWNS}
    assert sum(t.name_zh.endswith("街道") for t in TOWNS) == 12
    codes = {s.code for s in world.services}
    for station in world.stations:
        assert 4 <= len(station.services) <= 15
        assert set(station.services) <= codes
        assert station.name.endswith(("党群服务站", "一站式服务站", "社区党群服务中心"))
        assert station.address.startswith("上海市浦东新区")
    by_town = {s.town: s for s in world.stations}
    assert abs(by_town["陆家嘴街道"].lat - 31.236) < 0.02 and abs(by_town["陆家嘴街道"].lon - 121.505) < 0.02
    assert any(s.name.endswith("村党群服务站") for s in world.stations)
    assert any("居民区一站式服务站" in s.name for s in world.stations)


def test_catalogue_shape() -> None:
    services = build_world().services
    codes = [s.code for s in services]
    assert len(codes) == len(set(codes))
    prefixes = {"community": "SQ", "civil-affairs": "MZ", "hrss": "RS", "health": "WJ", "commerce": "SW"}
    for service in services:
        assert service.code.startswith(prefixes[service.department] + "-")
        assert re.fullmatch(r"[A-Z]{2}-\d{3}", service.code)
        assert 1 <= len(service.documents) <= 4
        assert service.fee_fen >= 0 and service.channels
        assert service.updated_at.utcoffset() is not None
    assert sum(s.fee_fen > 0 for s in services) in range(2, 6)


def test_same_seed_same_world_other_seed_other_world() -> None:
    assert build_world(7) == build_world(7)
    assert build_world() == build_world(20181125)
    assert build_world(7).stations != build_world(8).stations
    assert build_world(7).services == build_world(8).services


async def test_determinism_over_http(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    again = await start(port=0)
    other = await start(port=0, seed=42)
    try:
        first = await all_station_rows(http, mocks.url)
        second = await all_station_rows(http, again.url)
        third = await all_station_rows(http, other.url)
    finally:
        await again.stop()
        await other.stop()
    assert len(first) == len(third) == 1300
    assert first == second
    assert first != third
    assert [r["bianhao"] for r in first] == [r["bianhao"] for r in third]
