"""Sending a volunteer's hours to the volunteer department, and the sweep that re-sends what it did not
confirm.

Staff confirming a session (``resolvers.activities.report_hours``) send the report at once. When the
department is down the row stays PENDING with its next try scheduled, and the sweep — ``sweep_once``,
run every ``Retry.interval_s`` by a supervised task on every gateway process — sends it again under the
same report key (the department files a key once) with a doubling wait, up to ``Retry.max_s``, until
the department confirms. Each process first claims a due row (``ActivityBook.claim_report``: ``UPDATE
... WHERE hours_retry_at <= now``), so two processes never send the same report at the same moment.

The volunteer's ID number leaves the gateway with every send, so every send the sweep makes writes an
access-log row to the volunteer's log, attributed to the staff member who confirmed the session (kept
with the row), purpose ACTIVITIES. A report whose volunteer can no longer be identified (the sealed
handle does not open under the resident key: VOLUNTEER_UNKNOWN) becomes UNREPORTABLE and is never
tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from access.policy import AccessRecord, Purpose
from connectors.errors import UpstreamError
from connectors.hours_reports import HoursReport
from connectors.mapping import SHANGHAI
from connectors.registry import Department, Registry
from identity.principal import ClientChannel, Role
from store.activities import HOURS_UNREPORTABLE
from store.activity_book import ActivityBook, ActivityError, PendingReport

log = logging.getLogger("onestop.activities")

HOURS = "hours_reports"  # the spec operation hours are reported with
ACCESS_DATA = "volunteer_hours"  # what the volunteer's access log says left the gateway
UNRECORDED = "unrecorded"  # the actor of a report confirmed before who confirmed was kept

SealOpener = Callable[[str], str | None]
LogWriter = Callable[[Sequence[AccessRecord]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Retry:
    """How often the sweep runs and how long a report waits between tries (doubling, bounded)."""

    interval_s: float = 60.0
    first_s: float = 30.0
    max_s: float = 3600.0
    batch: int = 100  # due reports one round looks at

    def after(self, attempts: int) -> timedelta:
        """The wait before the next try, ``attempts`` tries made so far (at least one)."""
        doublings = min(max(attempts - 1, 0), 40)  # bounded: weeks of tries must not overflow a float
        return timedelta(seconds=min(self.first_s * 2**doublings, self.max_s))


@dataclass(frozen=True, slots=True)
class Reporting:
    """What the sweep needs besides the book: the departments served now, the resident seal, the
    access log."""

    registry: Callable[[], Registry]
    open_seal: SealOpener
    write_log: LogWriter
    retry: Retry = Retry()


def department_with(registry: Registry, capability: str) -> Department:
    department = next((d for d in registry.all() if capability in d.spec.operations), None)
    if department is None:
        raise ActivityError("VOLUNTEER_DEPARTMENT_UNAVAILABLE", f"no department serves {capability}")
    return department


def upstream(error: UpstreamError) -> ActivityError:
    return ActivityError(
        error.code.value, f"{error.department}: {error.message}", department=error.department
    )


def unreportable() -> ActivityError:
    """What staff are told of a report that is never sent (its state is UNREPORTABLE)."""
    return ActivityError(
        "VOLUNTEER_UNKNOWN",
        "the volunteer's handle no longer opens under this key: the hours are not reported nor retried",
        state=HOURS_UNREPORTABLE,
    )


def hours_of_tenths(pending: PendingReport) -> float:
    activity = pending.activity
    if activity.hours_tenths is not None:
        return activity.hours_tenths / 10
    return round((activity.ends_at - activity.starts_at).total_seconds() / 3600, 1)


async def send(book: ActivityBook, registry: Registry, open_seal: SealOpener, pending: PendingReport) -> str:
    """Send one report; the id of the department that took it. VOLUNTEER_UNKNOWN (now UNREPORTABLE,
    never tried again), VOLUNTEER_DEPARTMENT_UNAVAILABLE, UPSTREAM_* (the reason kept for staff)."""
    activity = pending.activity
    id_number = open_seal(pending.host_seal)
    if id_number is None:  # the resident key changed since: nobody can say who served
        error = unreportable()
        await book.hours_unreportable(activity.id, f"{error.code}: {error}")
        raise error
    served_on = activity.starts_at.astimezone(SHANGHAI).date()
    report = HoursReport(id_number, pending.report_key, hours_of_tenths(pending), served_on, activity.id)
    try:
        department = department_with(registry, HOURS)
        await department.adapter.report_hours(report)
    except UpstreamError as error:
        refusal = upstream(error)
        await book.hours_not_sent(activity.id, f"{refusal.code}: {refusal}")
        raise refusal from error
    except ActivityError as refusal:
        await book.hours_not_sent(activity.id, f"{refusal.code}: {refusal}")
        raise
    return department.id


def sent_record(pending: PendingReport, department: str, at: datetime) -> AccessRecord:
    """The volunteer's access-log row for a send the sweep made: the staff member who confirmed caused it."""
    confirmer = pending.confirmer
    channel = confirmer.channel if confirmer is not None else None
    assert pending.activity.host_digest is not None
    return AccessRecord(
        at=at,
        actor_digest=confirmer.actor_digest if confirmer is not None else UNRECORDED,
        actor_role=Role.STAFF,
        station=confirmer.station if confirmer is not None else pending.activity.station_id,
        resident_digest=pending.activity.host_digest,
        data=ACCESS_DATA,
        department=department,
        purpose=Purpose.ACTIVITIES,
        channel=ClientChannel(channel) if channel in set(ClientChannel) else ClientChannel.UNKNOWN,
        session_id=None,
    )


async def retry_one(
    book: ActivityBook, reporting: Reporting, pending: PendingReport, clock: Callable[[], datetime]
) -> bool:
    """Claim a due report and send it again; whether the department filed it now."""
    now = clock()
    if not await book.claim_report(
        pending.activity.id, now, now + reporting.retry.after(pending.attempts + 1)
    ):
        return False  # another process has it
    try:
        department = await send(book, reporting.registry(), reporting.open_seal, pending)
    except ActivityError as error:
        log.warning("activity %s: hours not reported (%s: %s)", pending.activity.id, error.code, error)
        return False
    await reporting.write_log([sent_record(pending, department, clock())])
    await book.hours_reported(pending.activity.id, clock())
    return True


async def sweep_once(book: ActivityBook, reporting: Reporting, clock: Callable[[], datetime]) -> int:
    """One round: every due PENDING report tried once. How many the department filed."""
    filed = 0
    for pending in await book.due_reports(clock(), reporting.retry.batch):
        filed += await retry_one(book, reporting, pending, clock)
    return filed
