"""Station activities: who may offer one, signing up and cancelling, and reporting a volunteer's hours.

* **Who offers**: station staff for their own station (hosted by the station), or a resident who is a
  registered volunteer — asked of the volunteer department (its spec's ``volunteers`` operation) at the
  moment of offering — at any station (hosted by that volunteer). A volunteer's session is published at
  once, without staff approval: the department vouches for the person, the session takes no station
  resource but a room in opening hours, and staff see it in ``stations { activities }`` like any other.
* **Places** are the store's (``store.activity_book``): never over capacity, a waiting list in order,
  a freed place handed to the first waiting in the same transaction — on any number of processes.
* **Hours**: once a volunteer's session has ended, the station's staff confirm it was held
  (``reportVolunteerHours``); the gateway marks it PENDING with a report key of its own and who
  confirmed, and reports the session's length to the volunteer department (its spec's ``hours_reports``
  operation) under that key, which the department files once. A failure leaves it PENDING and the
  sweep (``resolvers.volunteer_hours``, ``Activities.start``) sends the same report again, with a
  doubling wait, until the department confirms; staff calling again send it at once. A REPORTED one is
  never sent again; one whose volunteer can no longer be identified becomes UNREPORTABLE.

Plain functions over plain values; ``Activities`` is the one part the app builds (``Services.activities``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from access.policy import AccessDenied, Acting
from connectors.errors import UpstreamError
from connectors.mapping import SHANGHAI
from connectors.registry import Registry
from domain.records import StationRecord
from identity.principal import Principal, Role
from observability.supervisor import stop, supervise
from resolvers.errors import InputError
from resolvers.volunteer_hours import Reporting, send, sweep_once, unreportable, upstream
from resolvers.volunteer_hours import department_with as department_with
from store.activities import HOST_STATION, HOST_VOLUNTEER, HOURS_REPORTED, HOURS_UNREPORTABLE
from store.activity_book import (
    Activity,
    ActivityBook,
    ActivityError,
    Confirmer,
    NewActivity,
    Signer,
    SignUp,
)

KINDS = ("TRAINING", "CULTURAL", "VOLUNTEER_SERVICE")
MAX_TITLE = 100
MAX_PLACES = 500
MAX_HOURS = 8
MAX_DAYS_AHEAD = 90
MAX_PER_STATION = 20  # upcoming activities a station lists at most
REGISTER = "volunteers"  # the spec operation that says whether a resident is a registered volunteer


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
    """The activity book, the clock (tests move it) and, given ``reporting``, the sweep re-sending
    volunteers' hours the department did not confirm (``start``/``close``; ``once`` is one round)."""

    def __init__(
        self, book: ActivityBook, clock: Callable[[], datetime] = utc_now, reporting: Reporting | None = None
    ) -> None:
        self.book = book
        self.clock = clock
        self.reporting = reporting
        self._sweep: asyncio.Task[None] | None = None

    @classmethod
    def build(
        cls, sessions: async_sessionmaker[AsyncSession], reporting: Reporting | None = None
    ) -> Activities:
        return cls(ActivityBook(sessions), reporting=reporting)

    def now(self) -> datetime:
        return self.clock()

    async def once(self) -> int:
        """One round of the sweep: how many reports the department filed."""
        assert self.reporting is not None, "built without reporting: no sweep"
        return await sweep_once(self.book, self.reporting, self.now)

    async def run(self) -> None:
        """The sweep's loop, every ``Retry.interval_s``."""
        assert self.reporting is not None
        while True:
            await self.once()
            await asyncio.sleep(self.reporting.retry.interval_s)

    def start(self) -> None:
        """Run the sweep on this process, supervised: restarted with backoff if a round fails."""
        if self.reporting is not None and self._sweep is None:
            self._sweep = supervise("volunteer-hours", self.run)

    async def close(self) -> None:
        await stop(self._sweep)
        self._sweep = None


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


async def is_registered_volunteer(registry: Registry, id_number: str) -> bool:
    """Asked of the volunteer department now: a record on its register means registered."""
    department = department_with(registry, REGISTER)
    try:
        fetched = await department.adapter.run(REGISTER, id_number)
    except UpstreamError as error:
        raise upstream(error) from error
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
    actor_digest: str,
) -> HoursOutcome:
    """The station's staff confirm an ended volunteer session; its hours go to the volunteer
    department once (NOT_FOUND, FORBIDDEN, NO_VOLUNTEER_HOST, ACTIVITY_NOT_ENDED, VOLUNTEER_UNKNOWN,
    UPSTREAM_*: still PENDING, the sweep sends it again). ``actor_digest``: the staff member's keyed
    digest, kept as who confirmed."""
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
    confirmer = Confirmer(actor_digest, principal.station, principal.channel.value)
    now = service.now()
    first_wait = service.reporting.retry.after(1) if service.reporting else timedelta(minutes=1)
    pending = await service.book.hours_to_report(
        activity.id, now, round(hours * 10), confirmer, now + first_wait
    )
    if pending.state == HOURS_REPORTED:
        return HoursOutcome(pending.activity, hours, None)
    if pending.state == HOURS_UNREPORTABLE:
        raise unreportable()
    sent_to = await send(service.book, registry, open_seal, pending)
    return HoursOutcome(await service.book.hours_reported(activity.id, service.now()), hours, sent_to)
