"""Station activities, as anyone sees them: training, cultural and volunteer-service sessions at a
station with places to sign up for (``Station.activities``, upcoming ones, read from the gateway's store
for a whole page of stations at once: one DataLoader per request).

Signing up, cancelling and volunteers' hours are in ``schema.activity_signups``. Thin: the rules are in
``resolvers.activities`` and ``store.activity_book``.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.dataloader import DataLoader

from resolvers import activities as logic
from schema.context import Info
from store.activity_book import Activity as ActivityRecord
from store.activity_book import ActivityError

LOADER = "__activities_upcoming__"


def activities_of(info: Info) -> logic.Activities:
    """The app's activities service: the one place resolvers find it."""
    return info.context.services.activities


@strawberry.enum(description="活动类型 / What kind of session an activity is.")
class ActivityKind(Enum):
    TRAINING = strawberry.enum_value("TRAINING", description="培训 / Training, e.g. painting a cultural wall")
    CULTURAL = strawberry.enum_value("CULTURAL", description="文化活动 / Cultural, e.g. calligraphy")
    VOLUNTEER_SERVICE = strawberry.enum_value(
        "VOLUNTEER_SERVICE", description="志愿服务 / Volunteer service, e.g. haircuts, umbrella repair"
    )


@strawberry.enum(description="主办 / Who hosts an activity.")
class ActivityHost(Enum):
    STATION = strawberry.enum_value("STATION", description="服务站 / The station itself")
    VOLUNTEER = strawberry.enum_value(
        "VOLUNTEER", description="志愿者 / A resident registered with the volunteer department"
    )


@strawberry.enum(description="活动状态 / Whether an activity is still to come or was held.")
class ActivityStatus(Enum):
    SCHEDULED = strawberry.enum_value("SCHEDULED", description="待举办 / Scheduled")
    HELD = strawberry.enum_value("HELD", description="已举办 / Held: staff confirmed it")


@strawberry.type(description="活动 / A session at a station with places to sign up for.")
class Activity:
    id: strawberry.ID = strawberry.field(description="Activity id, for `signUpForActivity`")
    station_id: strawberry.ID = strawberry.field(description="The station's id")
    title_zh: str = strawberry.field(description="活动名称 / Title, in Chinese")
    title_en: str = strawberry.field(description="Title, in English")
    kind: ActivityKind = strawberry.field(description="活动类型 / Kind")
    host: ActivityHost = strawberry.field(description="主办 / The station or a resident volunteer")
    starts_at: datetime = strawberry.field(description="开始 / Starts")
    ends_at: datetime = strawberry.field(description="结束 / Ends")
    places: int = strawberry.field(description="名额 / Places")
    taken: int = strawberry.field(description="已报名 / Places taken")
    available: int = strawberry.field(description="剩余名额 / Places still free (0: sign-ups wait)")
    status: ActivityStatus = strawberry.field(description="活动状态 / Scheduled or held")

    @classmethod
    def from_record(cls, record: ActivityRecord) -> Activity:
        return cls(
            id=strawberry.ID(record.id),
            station_id=strawberry.ID(record.station_id),
            title_zh=record.title_zh,
            title_en=record.title_en,
            kind=ActivityKind(record.kind),
            host=ActivityHost(record.host_kind),
            starts_at=record.starts_at,
            ends_at=record.ends_at,
            places=record.capacity,
            taken=record.taken,
            available=record.available,
            status=ActivityStatus(record.status),
        )


async def _load_upcoming(info: Info, station_ids: list[str]) -> list[list[ActivityRecord]]:
    found = await logic.upcoming(activities_of(info), station_ids)
    return [found.get(s, []) for s in station_ids]


async def upcoming_at(info: Info, station_id: str, first: int) -> list[Activity]:
    """A station's upcoming activities; every station of the page in one store query."""
    if not 0 <= first <= logic.MAX_PER_STATION:
        raise ActivityError(
            "BAD_USER_INPUT", f"first: between 0 and {logic.MAX_PER_STATION}", argument="first"
        )
    loader = info.context.views.get(LOADER)
    if loader is None:
        loader = info.context.views[LOADER] = DataLoader(lambda ids: _load_upcoming(info, list(ids)))
    records: list[ActivityRecord] = await loader.load(station_id)
    return [Activity.from_record(r) for r in records[:first]]
