"""Signing up for station activities (a place, or the waiting list), cancelling, a resident's sign-ups,
offering an activity, and the hours volunteers served reported to the volunteer department.

Thin: the rules are in ``resolvers.activities`` and ``store.activity_book``. Signing up for somebody
else goes through the access policy (staff: an assisted session whose consent covers ACTIVITIES), and
every answer about a resident's sign-ups is written to their access log.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from access.policy import Acting, Purpose
from resolvers import activities as logic
from resolvers.appointments import station_by_id
from schema.activities import Activity, ActivityKind, activities_of
from schema.context import Info, path_of
from schema.stations import Station
from store.activities import HOST_VOLUNTEER
from store.activity_book import Activity as ActivityRecord
from store.activity_book import ActivityError
from store.activity_book import SignUp as SignUpRecord

ACCESS_DATA = "activities"


@strawberry.enum(description="报名状态 / Where a resident's sign-up stands.")
class SignUpStatus(Enum):
    SIGNED_UP = strawberry.enum_value("SIGNED_UP", description="已报名 / Has a place")
    WAITING = strawberry.enum_value("WAITING", description="候补 / On the waiting list")
    CANCELLED = strawberry.enum_value("CANCELLED", description="已取消 / Cancelled")


@strawberry.type(description="报名 / A resident's sign-up for an activity.")
class ActivitySignUp:
    id: strawberry.ID = strawberry.field(description="Sign-up id, for `cancelActivitySignUp`")
    status: SignUpStatus = strawberry.field(description="报名状态 / Has a place, waiting, or cancelled")
    waiting_ahead: int | None = strawberry.field(
        description="候补位次 / WAITING: how many wait before this sign-up; null otherwise"
    )
    signed_up_at: datetime = strawberry.field(description="When the resident signed up")
    promoted_at: datetime | None = strawberry.field(
        description="When a freed place came to it from the waiting list; null if never waiting"
    )
    cancelled_at: datetime | None = strawberry.field(description="When it was cancelled")
    activity: Activity = strawberry.field(description="The activity")
    station_id: strawberry.Private[str]

    @strawberry.field(description="The activity's station; null when its department cannot be reached")
    async def station(self, info: Info) -> Station | None:
        stations = await info.context.loaders.all_stations(path_of(info))
        record = station_by_id(stations, self.station_id)
        return None if record is None else Station.from_record(record)

    @classmethod
    def of(cls, sign_up: SignUpRecord, activity: ActivityRecord) -> ActivitySignUp:
        return cls(
            id=strawberry.ID(sign_up.id),
            status=SignUpStatus(sign_up.status),
            waiting_ahead=sign_up.waiting_ahead,
            signed_up_at=sign_up.created_at,
            promoted_at=sign_up.promoted_at,
            cancelled_at=sign_up.cancelled_at,
            activity=Activity.from_record(activity),
            station_id=activity.station_id,
        )


@strawberry.enum(description="志愿时长上报 / Where a volunteer's hours stand with the volunteer department.")
class VolunteerHoursState(Enum):
    PENDING = strawberry.enum_value(
        "PENDING",
        description="待确认 / Sent or to be sent; not confirmed yet (retried by the gateway until it is)",
    )
    REPORTED = strawberry.enum_value("REPORTED", description="已上报 / Filed by the volunteer department")


@strawberry.type(description="The hours of a volunteer's session, as reported to the volunteer department.")
class VolunteerHoursReport:
    activity: Activity = strawberry.field(description="The session, now HELD")
    hours: float = strawberry.field(description="志愿时长 / Hours served: the session's length, to 0.1 h")
    state: VolunteerHoursState = strawberry.field(description="上报状态 / Reported or still pending")
    reported_at: datetime | None = strawberry.field(description="When the department filed it")


@strawberry.input(
    description="An activity to offer: station staff at their station, or a registered volunteer."
)
class CreateActivityInput:
    station_id: strawberry.ID = strawberry.field(description="The station, e.g. ZD-0001")
    title_zh: str = strawberry.field(description="活动名称 / Title in Chinese, 1-100 characters")
    title_en: str = strawberry.field(description="Title in English, 1-100 characters")
    kind: ActivityKind = strawberry.field(description="活动类型 / Kind")
    starts_at: datetime = strawberry.field(description="开始 / Starts (no offset = Shanghai time)")
    ends_at: datetime = strawberry.field(description="结束 / Ends, at most 8 hours after it starts")
    places: int = strawberry.field(description="名额 / Places, 1-500")


@strawberry.input(
    description="A place in an activity for the signed-in resident, or (staff) for `residentId`."
)
class SignUpForActivityInput:
    activity_id: strawberry.ID = strawberry.field(description="The activity, from `stations { activities }`")
    resident_id: strawberry.ID | None = strawberry.field(
        default=None, description="staff in an assisted session: the resident's `Resident.id`"
    )


async def sign_ups_for(
    info: Info, acting: Acting, include_past: bool, include_cancelled: bool
) -> list[ActivitySignUp]:
    """The sign-ups of the resident ``acting`` acts for, soonest first (the caller logs the read)."""
    found = await logic.sign_ups_of(activities_of(info), acting, include_past, include_cancelled)
    return [ActivitySignUp.of(s, a) for s, a in found]


async def _signed(info: Info, acting: Acting, sign_up: SignUpRecord) -> ActivitySignUp:
    activity = await activities_of(info).book.get(sign_up.activity_id)
    assert activity is not None
    await info.context.record_access(acting, ACCESS_DATA, None)
    return ActivitySignUp.of(sign_up, activity)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Offer an activity: station staff at their own station, or a resident registered with "
        "the volunteer department (NOT_A_VOLUNTEER otherwise; asked of the department now)."
    )
    async def create_activity(
        self,
        info: Info,
        input: Annotated[CreateActivityInput, strawberry.argument(description="the activity")],
    ) -> Activity:
        context = info.context
        offer = logic.Offer(
            str(input.station_id),
            input.title_zh,
            input.title_en,
            input.kind.name,
            logic.aware(input.starts_at),
            logic.aware(input.ends_at),
            input.places,
        )
        host = logic.host_of(context.principal, offer.station_id)
        volunteer = None
        if host == HOST_VOLUNTEER:
            volunteer = await context.acting_for(None, Purpose.ACTIVITIES)
        service = activities_of(info)
        logic.check_offer(offer, service.now())
        stations = await context.loaders.all_stations(path_of(info))
        station = station_by_id(stations, offer.station_id)
        if station is None:
            code = "NOT_FOUND" if stations else "STATIONS_UNAVAILABLE"
            raise ActivityError(code, "no such station" if stations else "the stations cannot be reached now")
        assert context.principal is not None
        if volunteer is not None:  # the volunteer register is read for this resident, whatever it says
            register = logic.department_with(context.registry, logic.REGISTER).id
            await context.record_access(volunteer, "volunteer_register", register)
        record = await logic.create(
            service,
            context.registry,
            context.principal,
            volunteer,
            offer,
            station,
            context.services.access.handle,
            context.services.digester.of(context.principal.subject),
        )
        return Activity.from_record(record)

    @strawberry.mutation(
        description="Sign up for an activity: a place, or the waiting list when every place is taken "
        "(a freed place goes to the first waiting). ALREADY_SIGNED_UP, ACTIVITY_STARTED, NOT_FOUND; staff "
        "need the resident's consent (CONSENT_REQUIRED)."
    )
    async def sign_up_for_activity(
        self,
        info: Info,
        input: Annotated[SignUpForActivityInput, strawberry.argument(description="the activity")],
    ) -> ActivitySignUp:
        acting = await info.context.acting_for(input.resident_id, Purpose.ACTIVITIES)
        channel = info.context.channel.value
        sign_up = await logic.sign_up(activities_of(info), acting, str(input.activity_id), channel)
        return await _signed(info, acting, sign_up)

    @strawberry.mutation(
        description="Cancel a sign-up; a place it held goes to the first waiting. NOT_FOUND (also another "
        "resident's), ALREADY_CANCELLED, ACTIVITY_STARTED."
    )
    async def cancel_activity_sign_up(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="the sign-up's id")],
        resident_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="staff in an assisted session: the resident's `Resident.id`"),
        ] = None,
    ) -> ActivitySignUp:
        acting = await info.context.acting_for(resident_id, Purpose.ACTIVITIES)
        sign_up = await logic.cancel(activities_of(info), acting, str(id))
        return await _signed(info, acting, sign_up)

    @strawberry.mutation(
        description="The station's staff confirm a volunteer's session was held; its hours go to the "
        "volunteer department, once however often this is called (PENDING: the department did not "
        "confirm; the gateway sends it again until it does, or call again). NO_VOLUNTEER_HOST, "
        "ACTIVITY_NOT_ENDED, NOT_FOUND, VOLUNTEER_UNKNOWN (never reported), UPSTREAM_*."
    )
    async def report_volunteer_hours(
        self,
        info: Info,
        activity_id: Annotated[strawberry.ID, strawberry.argument(description="the activity's id")],
    ) -> VolunteerHoursReport:
        context = info.context
        principal = context.principal
        actor = "" if principal is None else context.services.digester.of(principal.subject)
        outcome = await logic.report_hours(
            activities_of(info),
            context.registry,
            principal,
            str(activity_id),
            context.services.access.seal.open,
            actor,
        )
        host = outcome.activity.host_digest
        if outcome.sent_to is not None and host is not None and principal is not None:
            # the volunteer's ID number went to a department: their access log says who sent it
            sent = Acting(principal, "", None, Purpose.ACTIVITIES, host, actor)
            await context.record_access(sent, "volunteer_hours", outcome.sent_to)
        return VolunteerHoursReport(
            activity=Activity.from_record(outcome.activity),
            hours=outcome.hours,
            state=VolunteerHoursState(outcome.activity.hours_state),
            reported_at=outcome.activity.hours_reported_at,
        )
