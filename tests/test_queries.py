"""The first queries end to end: gateway -> real mock departments over HTTP -> canonical answers.

Every department's own habits (envelope + pinyin, SOAP 1.1, CSV in GB18030, camelCase + cursor, plain
XML; API key, Basic, OAuth2, HMAC, none) are exercised by asking for its services and comparing with
the seeded world the mocks serve.
"""

from __future__ import annotations

from collections import Counter

import pytest

from mocks.world import DEFAULT_SEED, build_world
from tests.conftest import DEPARTMENT_IDS, Admin, Gateway

WORLD = build_world(DEFAULT_SEED)
# departments whose catalogue sends dates without a time: yyyyMMdd, or ISO yyyy-MM-dd
DATE_ONLY = {
    "community",
    "commerce",
    "culture-tourism",
    "agriculture",
    "planning-land",
    "veterans",
    "volunteer",
}
ALL_SERVICES = """query($first: Int, $after: String, $filter: ServiceFilter, $search: String) {
  services(first: $first, after: $after, filter: $filter, search: $search) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name nameEn description category channels feeFen processingDays
                          requiredDocuments updatedAt department { id name nameEn } } }
  }
}"""


async def services(gateway: Gateway, **variables: object) -> dict:
    body = await gateway.query(ALL_SERVICES, variables)
    assert "errors" not in body, body["errors"]
    return body["data"]["services"]


async def test_departments_lists_every_connector(gateway: Gateway) -> None:
    body = await gateway.query("{ departments { id name nameEn capabilities status connectorVersion } }")
    departments = {d["id"]: d for d in body["data"]["departments"]}
    assert set(departments) == DEPARTMENT_IDS
    assert departments["community"]["capabilities"] == ["catalog", "stations"]
    assert departments["civil-affairs"]["name"] == "民政局"
    assert all(d["status"] == "UP" and d["connectorVersion"] == 1 for d in departments.values())


async def test_catalogue_has_every_department_service_as_seeded(gateway: Gateway) -> None:
    page = await services(gateway, first=100)
    got = {edge["node"]["id"]: edge["node"] for edge in page["edges"]}
    assert page["totalCount"] == len(WORLD.catalogue) == len(got)
    for seeded in WORLD.catalogue:
        node = got[seeded.code]
        assert node["department"]["id"] == seeded.department
        assert node["name"] == seeded.name_zh
        assert node["nameEn"] == seeded.name_en
        assert node["feeFen"] == seeded.fee_fen  # yuan decimals (SOAP) come back as exact fen
        assert node["processingDays"] == seeded.processing_days
        assert node["requiredDocuments"] == list(seeded.documents)  # GB18030 CSV decoded
        assert node["channels"], seeded.code
    # each department's own dialect made it through
    assert Counter(n["department"]["id"] for n in got.values()) == Counter(
        s.department for s in WORLD.catalogue
    )


async def test_dates_in_every_format_become_the_same_instant(gateway: Gateway) -> None:
    page = await services(gateway, first=100)
    got = {e["node"]["id"]: e["node"]["updatedAt"] for e in page["edges"]}
    from datetime import datetime

    for seeded in WORLD.catalogue:
        parsed = datetime.fromisoformat(got[seeded.code])
        if seeded.department in DATE_ONLY:  # the department sends the day only: the day must match
            assert parsed.date() == seeded.updated_at.astimezone(parsed.tzinfo).date(), seeded.code
        else:  # ISO with offset, epoch seconds and millis keep the instant
            assert parsed == seeded.updated_at, seeded.code


async def test_cursor_pages_walk_the_catalogue_once(gateway: Gateway) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = await services(gateway, first=4, after=after)
        seen.extend(e["node"]["id"] for e in page["edges"])
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(s.code for s in WORLD.catalogue)


async def test_filter_by_department_and_category(gateway: Gateway) -> None:
    page = await services(gateway, first=100, filter={"departments": ["hrss"]})
    assert {e["node"]["department"]["id"] for e in page["edges"]} == {"hrss"}
    page = await services(gateway, first=100, filter={"categories": ["SENIOR_CARE"]})
    assert page["edges"] and all(e["node"]["category"] == "SENIOR_CARE" for e in page["edges"])
    page = await services(gateway, first=100, filter={"channels": ["KIOSK"]})
    assert page["edges"] and all("KIOSK" in e["node"]["channels"] for e in page["edges"])


@pytest.mark.parametrize("term", ["最低生活", "minimum living", "MINIMUM"])
async def test_search_in_chinese_and_english(gateway: Gateway, term: str) -> None:
    page = await services(gateway, first=100, search=term)
    assert [e["node"]["id"] for e in page["edges"]] == ["MZ-001"]


async def test_service_by_id_and_unknown_id(gateway: Gateway) -> None:
    body = await gateway.query(
        '{ a: service(id: "RS-001") { id department { id } } b: service(id: "NOPE") { id } }'
    )
    assert body["data"] == {"a": {"id": "RS-001", "department": {"id": "hrss"}}, "b": None}
    assert "errors" not in body


NEARBY = """query($lat: Float!, $lon: Float!, $minutes: Int!, $offering: ID, $openAt: DateTime) {
  stations(near: {latitude: $lat, longitude: $lon}, maxWalkMinutes: $minutes, offering: $offering,
           openAt: $openAt, first: 200) {
    distanceMeters walkMinutes
    station { id name town location { latitude longitude } openingHours { weekday opens closes }
              services { id } }
  }
}"""


async def test_stations_nearest_first_within_the_walk(gateway: Gateway) -> None:
    origin = WORLD.stations[100]
    body = await gateway.query(NEARBY, {"lat": origin.lat, "lon": origin.lon, "minutes": 15})
    hits = body["data"]["stations"]
    assert hits[0]["station"]["id"] == origin.code and hits[0]["distanceMeters"] == 0
    distances = [h["distanceMeters"] for h in hits]
    assert distances == sorted(distances)
    assert all(h["walkMinutes"] <= 15 and h["distanceMeters"] <= 15 * 80 for h in hits)
    # nothing reachable was left out: compare with a brute-force pass over the seeded stations
    from resolvers.stations import DETOUR_FACTOR, haversine_m

    expected = {
        s.code
        for s in WORLD.stations
        if haversine_m(origin.lat, origin.lon, s.lat, s.lon) * DETOUR_FACTOR <= 15 * 80
    }
    assert {h["station"]["id"] for h in hits} == expected
    assert set(hits[0]["station"]["services"][0].keys()) == {"id"}
    assert {s["id"] for s in hits[0]["station"]["services"]} == set(origin.services)


async def test_stations_offering_a_service_and_open_at_a_time(gateway: Gateway) -> None:
    origin = WORLD.stations[7]
    wanted = origin.services[0]
    base = {"lat": origin.lat, "lon": origin.lon, "minutes": 60}
    body = await gateway.query(NEARBY, base | {"offering": wanted})
    assert body["data"]["stations"]
    assert all(wanted in {s["id"] for s in h["station"]["services"]} for h in body["data"]["stations"])
    # Sunday 23:00 Shanghai: no station keeps those hours; Wednesday 10:00 most do
    closed = await gateway.query(NEARBY, base | {"openAt": "2026-11-29T23:00:00+08:00"})
    assert closed["data"]["stations"] == []
    open_ = await gateway.query(NEARBY, base | {"openAt": "2026-11-25T02:00:00+00:00"})  # 10:00 in Shanghai
    assert open_["data"]["stations"]
    for hit in open_["data"]["stations"]:
        assert any(
            p["weekday"] == 3 and p["opens"] <= "10:00" < p["closes"] for p in hit["station"]["openingHours"]
        )


async def test_all_1300_stations_arrive_through_page_pagination(gateway: Gateway, admin: Admin) -> None:
    body = await gateway.query(NEARBY, {"lat": 31.1, "lon": 121.7, "minutes": 120})
    assert body["data"]["stations"]
    paths = await admin.paths("community")
    # 1,300 stations at 500 a page: exactly three page requests, then served from cache
    assert sum(n for p, n in paths.items() if "zhandian" in p) == 3
    assert len(WORLD.stations) == 1300


async def test_one_request_asks_each_department_once(gateway: Gateway, admin: Admin) -> None:
    """services, service(id) and every Station.services share one catalogue fetch per department."""
    query = """{ services(first: 100) { totalCount } service(id: "WJ-001") { id }
                 stations(near: {latitude: 31.2304, longitude: 121.505}) { station { services { id } } } }"""
    body = await gateway.query(query)
    assert "errors" not in body
    assert await admin.requests("civil-affairs") == 1
    assert await admin.requests("commerce") == 1
    assert await admin.requests("health") == 1  # all services fit one cursor page of 20
