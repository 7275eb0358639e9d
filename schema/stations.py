"""One-stop stations: the nearest ones within a walk, open when the resident wants to go."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from domain.records import StationRecord
from resolvers.catalog import services_by_ids
from resolvers.stations import StationHit as StationHitRecord
from resolvers.stations import get_station, nearby_stations
from schema.activities import Activity, upcoming_at
from schema.context import Info, path_of
from schema.services import Service
from schema.views import RecordViews


@strawberry.type(description="A place on the map (WGS 84).")
class GeoPoint:
    latitude: float = strawberry.field(description="Degrees north, -90..90")
    longitude: float = strawberry.field(description="Degrees east, -180..180")


@strawberry.input(description="A place on the map (WGS 84), e.g. where the resident is.")
class GeoPointInput:
    latitude: float = strawberry.field(description="Degrees north, -90..90")
    longitude: float = strawberry.field(description="Degrees east, -180..180")


@strawberry.type(
    description="Open from `opens` to `closes` (HH:MM, Shanghai time) on `weekday` (1 = Monday)."
)
class OpeningPeriod:
    weekday: int = strawberry.field(description="1 = Monday ... 7 = Sunday")
    opens: str = strawberry.field(description="开门 / Opens, HH:MM")
    closes: str = strawberry.field(description="关门 / Closes, HH:MM")


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@strawberry.federation.type(keys=["id"], description="服务站 / Station: a one-stop service station.")
class Station:
    id: strawberry.ID = strawberry.field(description="Station code, e.g. ZD-0001")
    name: str = strawberry.field(description="服务站名称 / Name, in Chinese")
    town: str = strawberry.field(description="街镇 / Town or subdistrict")
    address: str = strawberry.field(description="地址 / Street address, in Chinese")
    location: GeoPoint = strawberry.field(description="Where it is on the map")
    phone: str = strawberry.field(description="联系电话 / Phone number")
    opening_hours: list[OpeningPeriod] = strawberry.field(description="开放时间 / Weekly opening hours")
    service_ids: strawberry.Private[tuple[str, ...]]

    @strawberry.field(description="Services offered at this station")
    async def services(self, info: Info) -> list[Service]:
        records = await services_by_ids(info.context.loaders, self.service_ids, path_of(info))
        return [Service.from_record(r) for r in records]

    @strawberry.field(description="活动 / Upcoming activities at this station, soonest first")
    async def activities(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="at most this many, 0..20")] = 5,
    ) -> list[Activity]:
        return await upcoming_at(info, str(self.id), first)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Station | None:
        """A federation router's reference (``_entities``): one station index per request."""
        record = await get_station(info.context.loaders, str(id), path_of(info))
        return None if record is None else cls.from_record(record)

    @classmethod
    def from_record(cls, record: StationRecord) -> Station:
        return _station_views(record)

    @classmethod
    def make(cls, record: StationRecord) -> Station:
        return cls(
            id=strawberry.ID(record.id),
            name=record.name,
            town=record.town,
            address=record.address,
            location=GeoPoint(latitude=record.latitude, longitude=record.longitude),
            phone=record.phone,
            opening_hours=[
                OpeningPeriod(weekday=p.weekday, opens=_clock(p.opens), closes=_clock(p.closes))
                for p in record.opening_hours
            ],
            service_ids=record.service_ids,
        )


_station_views: RecordViews[StationRecord, Station] = RecordViews(Station.make)


@strawberry.type(description="A station within reach, and how far it is on foot.")
class StationHit:
    station: Station = strawberry.field(description="The station")
    distance_meters: int = strawberry.field(description="Walking distance (street detour included)")
    walk_minutes: int = strawberry.field(description="步行分钟 / Minutes on foot at 80 m a minute")

    @classmethod
    def from_hit(cls, hit: StationHitRecord) -> StationHit:
        return cls(
            station=Station.from_record(hit.station),
            distance_meters=hit.distance_m,
            walk_minutes=hit.walk_minutes,
        )


@strawberry.type
class Query:
    @strawberry.field(description="Stations within `maxWalkMinutes` on foot of `near`, nearest first.")
    async def stations(
        self,
        info: Info,
        near: Annotated[GeoPointInput, strawberry.argument(description="where the resident is")],
        max_walk_minutes: Annotated[
            int, strawberry.argument(description="walking reach, 1..120 minutes")
        ] = 15,
        offering: Annotated[strawberry.ID | None, strawberry.argument(description="a service id")] = None,
        open_at: Annotated[
            datetime | None,
            strawberry.argument(description="only stations open then (no offset = Shanghai time)"),
        ] = None,
        first: Annotated[int, strawberry.argument(description="at most this many, 1..200")] = 50,
    ) -> list[StationHit]:
        hits = await nearby_stations(
            info.context.loaders,
            near.latitude,
            near.longitude,
            max_walk_minutes,
            None if offering is None else str(offering),
            open_at,
            first,
            path_of(info),
        )
        return [StationHit.from_hit(h) for h in hits]
