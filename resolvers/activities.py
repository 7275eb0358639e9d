"""Station activities: who may offer one, signing up and cancelling, and reporting a volunteer's hours.

* **Who offers**: station staff for their own station (hosted by the station), or a resident who is a
  registered volunteer — asked of the volunteer department (its spec's ``volunteers`` operation) at the
  moment of offering — at any station (hosted by that volunteer). A volunteer's session is published at
  once, without staff approval: the department vouches for the person, the session takes no station
  resource but a room in opening hours, and staff see it in ``stations { activities }`` like any other.
* **Places** are the store's (``store.activity_book``): never over capacity, a waiting list in order,
  a freed place handed to the first waiting in the same transaction — on any number of processes.
* **Hours**: once a volunteer's session has ended, the station's staff confirm it was held
  (``reportVolunteerHours``); the gateway marks it PENDING with a report key of its own and reports the
  session's length to the volunteer department (its spec's ``hours_reports`` operation) under that
  key, which the department files once. A failure leaves it PENDING: calling again sends the same
  report, and a REPORTED one is never sent again.

Plain functions over plain values; ``Activities`` is the one part the app builds (``Services.activities``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from access.policy import AccessDenied, Acting
from connectors.errors import UpstreamError
from connectors.hours_reports import HoursReport
from connectors.mapping import SHANGHAI
from connectors.registry import Department, Registry
from domain.records import StationRecord
from identity.principal import Principal, Role
from resolvers.errors import InputError
from store.activities import HOST_STATION, HOST_VOLUNTEER, HOURS_REPORTED
from store.activity_book import Activity, ActivityBook, ActivityError, NewActivity, Signer, SignUp

KINDS = ("TRAINING", "CULTURAL", "VOLUNTEER_SERVICE")
MAX_TITLE = 100
MAX_PLACES = 500
MAX_HOURS = 8
MAX_DAYS_AHEAD = 90
MAX_PER_STATION = 20  # upcoming activities a station lists at most
REGISTER = "volunteers"  # the spec operation that says whether a resident is a registered volunteer
HOURS = "hours_reports"  # the spec operation hours are reported with


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Offer:
    """What a client asks for when offering an activity (checked by ``check_offer``)."""

    station_id: str
    title_zh: str
    title_en: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    places: int


@dataclass(frozen=True, slots=True)
class HoursOutcome:
    activity: Activity
    hours: float
    sent_to: str | None  # the department this call sent the volunteer's hours to (None: filed before)


class Activities:
    """The activity book and the clock (tests move the clock; nothing else keeps state)."""

    def __init__(self, book: ActivityBook, clock: Callable[[], datetime] = utc_now) -> None:
        self.book = book
        self.clock = clock

    @classmethod
    def build(cls, sessions: async_sessionmaker[AsyncSession]) -> Activities:
        return cls(ActivityBook(sessions))

    def now(self) -> datetime:
        return self.clock()


def check_offer(offer: Offer, now: datetime) -> None:
    for argument, title in (("input.titleZh", offer.title_zh), ("input.titleEn", offer.title_en)):
        if not title.strip() or len(title) > MAX_TITLE:
            raise InputError(argument, f"1 to {MAX_TITLE} characters")
    if offer.kind not in KINDS:
        raise InputError("input.kind", f"one of {', '.join(KINDS)}")
    if not 1 <= offer.places <= MAX_PLACES:
        raise InputError("input.places", f"between 1 and {MAX_PLACES}")
    if offer.starts_at <= now:
        raise InputError("input.startsAt", "must be in the future")
    if offer.starts_at > now + timedelta(days=MAX_DAYS_AHEAD):
        raise InputError("input.startsAt", f"at most {MAX_DAYS_AHEAD} days ahead")
    if not offer.starts_at < offer.ends_at <= offer.starts_at + timedelta(hours=MAX_HOURS):
        raise InputError("input.endsAt", f"after startsAt, at most {MAX_HOURS} hours later")


def aware(value: datetime) -> datetime:
    """A time without an offset is Shanghai time (as ``stations(openAt)`` reads it)."""
    return (value if value.tzinfo else value.replace(tzinfo=SHANGHAI)).astimezone(UTC)


def host_of(principal: Principal | None, station_id: str) -> str:
    """May ``principal`` offer an activity at ``station_id``, and as whom: HOST_STATION or HOST_VOLUNTEER
    (the volunteer still has to be found on the register)."""
    if principal is None:
        raise AccessDenied("UNAUTHENTICATED", "offering an activity needs a bearer token")
    if principal.role is Role.STAFF:
        if principal.station != station_id:
            raise AccessDenied("FORBIDDEN", "staff offer activities at their own station only")
        return HOST_STATION
    if principal.role is Role.RESIDENT:
        return HOST_VOLUNTEER
    raise AccessDenied("FORBIDDEN", f"the {principal.role.value} role does not offer activities")


def department_with(registry: Registry, capability: str) -> Department:
    department = next((d for d in registry.all() if capability in d.spec.operations), None)
    if department is None:
        raise ActivityError("VOLUNTEER_DEPARTMENT_UNAVAILABLE", f"no department serves {capability}")
    return department


async def is_registered_volunteer(registry: Registry, id_number: str) -> bool:
    """Asked of the volunteer department now: a record on its register means registered."""
    department = department_with(registry, REGISTER)
    try:
        fetched = await department.adapter.run(REGISTER, id_number)
    except UpstreamError as error:
        raise _upstream(error) from error
    return any(r.resident_id in ("", id_number) for r in fetched.value.records)


async def create(
    service: Activities,
    registry: Registry,
    principal: Principal | None,
    volunteer: Acting | None,
    offer: Offer,
    station: StationRecord,
    seal: Callable[[str], str],
    creator_digest: str,
) -> Activity:
    """Offer an activity. ``volunteer`` is the resident acting for themself (None for staff)."""
    host = host_of(principal, offer.station_id)
    check_offer(offer, service.now())
    host_digest = host_seal = None
    if host == HOST_VOLUNTEER:
        assert volunteer is not None
        if not await is_registered_volunteer(registry, volunteer.resident_id):
            raise ActivityError(
                "NOT_A_VOLUNTEER", "only residents registered with the volunteer department host activities"
            )
        host_digest, host_seal = volunteer.resident_digest, seal(volunteer.resident_id)
    new = NewActivity(
        station.id,
        offer.title_zh.strip(),
        offer.title_en.strip(),
        offer.kind,
        host,
        host_digest,
        host_seal,
        offer.starts_at,
        offer.ends_at,
        offer.places,
        creator_digest,
    )
    return await service.book.create(new, service.now())


def check_id(value: str, what: str) -> str:
    if len(value) != 32 or not all(c in "0123456789abcdef" for c in value):
        raise ActivityError("NOT_FOUND", f"no such {what}")
    return value


async def sign_up(service: Activities, acting: Acting, activity_id: str, channel: str) -> SignUp:
    signer = Signer(acting.resident_digest, acting.actor_digest, acting.session_id, channel)
    return await service.book.sign_up(check_id(activity_id, "activity"), signer, service.now())


async def cancel(service: Activities, acting: Acting, sign_up_id: str) -> SignUp:
    sign_up_id = check_id(sign_up_id, "sign-up of this resident")
    return await service.book.cancel(sign_up_id, acting.resident_digest, service.now())


async def sign_ups_of(
    service: Activities, acting: Acting, include_past: bool, include_cancelled: bool
) -> list[tuple[SignUp, Activity]]:
    since = None if include_past else service.now()
    return await service.book.sign_ups_of(acting.resident_digest, since, include_cancelled)


async def upcoming(service: Activities, station_ids: Sequence[str]) -> dict[str, list[Activity]]:
    return await service.book.upcoming(station_ids, service.now(), MAX_PER_STATION)


def hours_of(activity: Activity) -> float:
    """The session's length in hours, to a tenth (what the volunteer served)."""
    return round((activity.ends_at - activity.starts_at).total_seconds() / 3600, 1)


async def report_hours(
    service: Activities,
    registry: Registry,
    principal: Principal | None,
    activity_id: str,
    open_seal: Callable[[str], str | None],
) -> HoursOutcome:
    """The station's staff confirm an ended volunteer session; its hours go to the volunteer
    department once (NOT_FOUND, FORBIDDEN, NO_VOLUNTEER_HOST, ACTIVITY_NOT_ENDED, UPSTREAM_*)."""
    if principal is None:
        raise AccessDenied("UNAUTHENTICATED", "reporting hours needs a bearer token")
    if principal.role is not Role.STAFF:
        raise AccessDenied("FORBIDDEN", "the station's staff confirm a session was held")
    activity = await service.book.get(check_id(activity_id, "activity"))
    if activity is None:
        raise ActivityError("NOT_FOUND", "no such activity")
    if activity.station_id != principal.station:
        raise AccessDenied("FORBIDDEN", "staff confirm sessions of their own station only")
    hours = hours_of(activity)
    pending = await service.book.hours_to_report(activity.id, service.now(), round(hours * 10))
    if pending.state == HOURS_REPORTED:
        return HoursOutcome(pending.activity, hours, None)
    id_number = open_seal(pending.host_seal)
    if id_number is None:  # the resident key changed since: nobody can say who served
        raise ActivityError("VOLUNTEER_UNKNOWN", "the volunteer's handle no longer opens under this key")
    report = HoursReport(
        id_number, pending.report_key, hours, activity.starts_at.astimezone(SHANGHAI).date(), activity.id
    )
    department = department_with(registry, HOURS)
    try:
        await department.adapter.report_hours(report)
    except UpstreamError as error:
        raise _upstream(error) from error
    return HoursOutcome(await service.book.hours_reported(activity.id, service.now()), hours, department.id)


def _upstream(error: UpstreamError) -> ActivityError:
    return ActivityError(
        error.code.value, f"{error.department}: {error.message}", department=error.department
    )
