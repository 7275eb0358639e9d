"""Stations within a walk: distance, walking minutes, open at a given time, offering a service."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from connectors.mapping import SHANGHAI
from domain.records import StationRecord
from resolvers.errors import InputError
from resolvers.loaders import Loaders
from resolvers.notices import Path

EARTH_RADIUS_M = 6_371_008.8
# Streets are not straight lines: walking routes in Shanghai's grid run ~1.3x the straight distance.
DETOUR_FACTOR = 1.3
WALK_M_PER_MIN = 80.0  # 4.8 km/h, a resident's ordinary pace
MAX_WALK_MINUTES = 120
MAX_HITS = 200


@dataclass(frozen=True, slots=True)
class StationHit:
    station: StationRecord
    distance_m: int  # walking distance
    walk_minutes: int


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def is_open(station: StationRecord, at: datetime) -> bool:
    """Open at ``at`` by the station's weekly hours; a time without offset is Shanghai time."""
    if at.tzinfo is not None:
        at = at.astimezone(SHANGHAI)
    minute = at.hour * 60 + at.minute
    weekday = at.isoweekday()
    return any(p.weekday == weekday and p.opens <= minute < p.closes for p in station.opening_hours)


def check_point(latitude: float, longitude: float) -> None:
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise InputError("near.latitude", "between -90 and 90")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise InputError("near.longitude", "between -180 and 180")


async def nearby_stations(
    loaders: Loaders,
    latitude: float,
    longitude: float,
    max_walk_minutes: int,
    offering: str | None,
    open_at: datetime | None,
    limit: int,
    path: Path,
) -> list[StationHit]:
    check_point(latitude, longitude)
    if not 1 <= max_walk_minutes <= MAX_WALK_MINUTES:
        raise InputError("maxWalkMinutes", f"between 1 and {MAX_WALK_MINUTES}")
    if not 1 <= limit <= MAX_HITS:
        raise InputError("first", f"between 1 and {MAX_HITS}")
    reach_m = max_walk_minutes * WALK_M_PER_MIN
    straight_m = reach_m / DETOUR_FACTOR
    # cheap box test first; the trigonometry only for stations that could be in reach
    dlat = math.degrees(straight_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(latitude)), 1e-6)
    hits: list[StationHit] = []
    for station in await loaders.all_stations(path):
        if abs(station.latitude - latitude) > dlat or abs(station.longitude - longitude) > dlon:
            continue
        walk_m = haversine_m(latitude, longitude, station.latitude, station.longitude) * DETOUR_FACTOR
        if walk_m > reach_m:
            continue
        if offering is not None and offering not in station.service_ids:
            continue
        if open_at is not None and not is_open(station, open_at):
            continue
        hits.append(StationHit(station, round(walk_m), max(1, math.ceil(walk_m / WALK_M_PER_MIN))))
    hits.sort(key=lambda h: (h.distance_m, h.station.id))
    return hits[:limit]


async def get_station(loaders: Loaders, station_id: str, path: Path) -> StationRecord | None:
    """One station by id (a federation router's reference); every station department asked once."""
    return (await loaders.station_index(path)).get(station_id)
