"""Activities and sign-ups: every rule enforced by the database, one transaction per change.

``sign_up`` first takes the activity's row (``queued = queued + 1``, which numbers the sign-up), then
tries for a place with the conditional ``UPDATE ... WHERE taken < capacity``: its row count decides
between SIGNED_UP and WAITING. The insert's partial unique index refuses a second active sign-up of
the same resident, rolling the place back with it. ``cancel`` takes the activity's row first too, and
hands a freed place to the first on the waiting list in the same transaction, or gives it back. Since
every change of an activity's sign-ups holds its row, two never interleave, on any number of processes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from store.activities import (
    CANCELLED,
    HELD,
    HOST_VOLUNTEER,
    HOURS_NONE,
    HOURS_PENDING,
    HOURS_REPORTED,
    HOURS_UNREPORTABLE,
    SCHEDULED,
    SIGNED_UP,
    WAITING,
    ActivityRow,
    SignUpRow,
)
from store.db import rowcount


class ActivityError(Exception):
    """A refusal the client can act on; ``code`` becomes ``extensions.code``."""

    def __init__(self, code: str, message: str, **details: str) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = {"code": code, **details}


@dataclass(frozen=True, slots=True)
class NewActivity:
    station_id: str
    title_zh: str
    title_en: str
    kind: str
    host_kind: str
    host_digest: str | None
    host_seal: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    created_by: str


@dataclass(frozen=True, slots=True)
class Activity:
    id: str
    station_id: str
    title_zh: str
    title_en: str
    kind: str
    host_kind: str
    host_digest: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    taken: int
    status: str
    hours_state: str
    hours_tenths: int | None
    hours_reported_at: datetime | None

    @property
    def available(self) -> int:
        return max(0, self.capacity - self.taken)


@dataclass(frozen=True, slots=True)
class SignUp:
    """One resident's sign-up, without the resident (rows carry only the digest)."""

    id: str
    activity_id: str
    status: str
    position: int
    created_at: datetime
    promoted_at: datetime | None
    cancelled_at: datetime | None
    waiting_ahead: int | None = None  # WAITING: how many wait before this one (when read)


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs up: the resident (digest), and who pressed the button — the resident or staff."""

    resident_digest: str
    actor_digest: str
    session_id: str | None
    channel: str


@dataclass(frozen=True, slots=True)
class Confirmer:
    """The staff member who confirmed a volunteer's session was held (keyed digest, station, channel):
    the access-log row of every send of its report names them, a retry by the sweep too."""

    actor_digest: str
    station: str | None
    channel: str | None


@dataclass(frozen=True, slots=True)
class PendingReport:
    """An ended volunteer activity whose hours are to be reported (or were: ``state``)."""

    activity: Activity
    report_key: str
    host_seal: str
    state: str
    attempts: int = 0
    confirmer: Confirmer | None = None  # None: confirmed before who confirmed was kept


def _activity(row: ActivityRow) -> Activity:
    return Activity(
        row.id,
        row.station_id,
        row.title_zh,
        row.title_en,
        row.kind,
        row.host_kind,
        row.host_digest,
        row.starts_at,
        row.ends_at,
        row.capacity,
        row.taken,
        row.status,
        row.hours_state,
        row.hours_tenths,
        row.hours_reported_at,
    )


def _sign_up(row: SignUpRow, ahead: int | None = None) -> SignUp:
    return SignUp(
        row.id,
        row.activity_id,
        row.status,
        row.position,
        row.created_at,
        row.promoted_at,
        row.cancelled_at,
        ahead if row.status == WAITING else None,
    )


def report_key(activity_id: str) -> str:
    """The key the volunteer department files a report under: one per activity, the same on every try."""
    return f"onestop-act-{activity_id}"


class ActivityBook:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    # -- activities --------------------------------------------------------------------------------

    async def create(self, new: NewActivity, now: datetime) -> Activity:
        row = ActivityRow(
            id=secrets.token_hex(16),
            station_id=new.station_id,
            title_zh=new.title_zh,
            title_en=new.title_en,
            kind=new.kind,
            host_kind=new.host_kind,
            host_digest=new.host_digest,
            host_seal=new.host_seal,
            starts_at=new.starts_at,
            ends_at=new.ends_at,
            capacity=new.capacity,
            taken=0,
            queued=0,
            status=SCHEDULED,
            created_by=new.created_by,
            created_at=now,
            hours_state=HOURS_NONE,
        )
        async with self.sessions.begin() as session:
            session.add(row)
        return _activity(row)

    async def get(self, activity_id: str) -> Activity | None:
        async with self.sessions() as session:
            row = await session.get(ActivityRow, activity_id)
            return None if row is None else _activity(row)

    async def upcoming(
        self, station_ids: Sequence[str], now: datetime, per_station: int
    ) -> dict[str, list[Activity]]:
        """Each station's activities that have not started, soonest first, at most ``per_station`` —
        for a whole page of stations in one query."""
        ranked = (
            select(
                ActivityRow,
                func.row_number()
                .over(partition_by=ActivityRow.station_id, order_by=(ActivityRow.starts_at, ActivityRow.id))
                .label("rank"),
            )
            .where(
                ActivityRow.station_id.in_(list(station_ids)),
                ActivityRow.starts_at > now,
                ActivityRow.status == SCHEDULED,
            )
            .subquery()
        )
        row = aliased(ActivityRow, ranked)
        query = (
            select(row).where(ranked.c.rank <= per_station).order_by(row.station_id, row.starts_at, row.id)
        )
        found: dict[str, list[Activity]] = {s: [] for s in station_ids}
        async with self.sessions() as session:
            for activity in await session.scalars(query):
                found[activity.station_id].append(_activity(activity))
        return found

    # -- sign-ups ----------------------------------------------------------------------------------

    async def sign_up(self, activity_id: str, signer: Signer, now: datetime) -> SignUp:
        """A place for the resident, or a place on the waiting list when every place is taken.

        NOT_FOUND, ACTIVITY_STARTED (or held), ALREADY_SIGNED_UP (an active sign-up already).
        """
        try:
            async with self.sessions.begin() as session:
                position = (
                    await session.execute(
                        update(ActivityRow)
                        .where(
                            ActivityRow.id == activity_id,
                            ActivityRow.status == SCHEDULED,
                            ActivityRow.starts_at > now,
                        )
                        .values(queued=ActivityRow.queued + 1)
                        .returning(ActivityRow.queued)
                    )
                ).scalar_one_or_none()
                if position is None:
                    raise _not_open(await session.get(ActivityRow, activity_id))
                taken = await session.execute(
                    update(ActivityRow)
                    .where(ActivityRow.id == activity_id, ActivityRow.taken < ActivityRow.capacity)
                    .values(taken=ActivityRow.taken + 1)
                )
                row = SignUpRow(
                    id=secrets.token_hex(16),
                    activity_id=activity_id,
                    resident_digest=signer.resident_digest,
                    status=SIGNED_UP if rowcount(taken) == 1 else WAITING,
                    position=position,
                    signed_by=signer.actor_digest,
                    session_id=signer.session_id,
                    channel=signer.channel,
                    created_at=now,
                )
                session.add(row)
                await session.flush()  # the unique index speaks here, inside the transaction
        except IntegrityError as exc:  # all of it rolled back: the place and the number too
            raise ActivityError(
                "ALREADY_SIGNED_UP", "the resident is already signed up or waiting for this activity"
            ) from exc
        if row.status != WAITING:
            return _sign_up(row)
        async with self.sessions() as session:  # counted after the commit: the activity's row is free
            return _sign_up(row, await _waiting_ahead(session, row))

    async def cancel(self, sign_up_id: str, resident_digest: str, now: datetime) -> SignUp:
        """Cancel the resident's sign-up; a place it held goes to the first waiting, exactly once.

        NOT_FOUND (also somebody else's), ALREADY_CANCELLED, ACTIVITY_STARTED.
        """
        mine = and_(SignUpRow.id == sign_up_id, SignUpRow.resident_digest == resident_digest)
        async with self.sessions() as session:  # which activity: fixed for the sign-up's life
            activity_id = (await session.scalars(select(SignUpRow.activity_id).where(mine))).one_or_none()
        if activity_id is None:
            raise ActivityError("NOT_FOUND", "no such sign-up of this resident")
        async with self.sessions.begin() as session:
            # the activity's row first, as sign_up takes it: its sign-ups change one transaction at a time
            await session.execute(
                update(ActivityRow).where(ActivityRow.id == activity_id).values(queued=ActivityRow.queued)
            )
            activity = await session.get(ActivityRow, activity_id, populate_existing=True)
            row = (await session.scalars(select(SignUpRow).where(mine))).one()
            if row.status == CANCELLED:
                raise ActivityError("ALREADY_CANCELLED", "this sign-up is already cancelled")
            assert activity is not None
            if activity.starts_at <= now or activity.status != SCHEDULED:
                raise ActivityError(
                    "ACTIVITY_STARTED", "a sign-up cannot be cancelled once the activity began"
                )
            held_place = row.status == SIGNED_UP
            row.status, row.cancelled_at = CANCELLED, now
            await session.flush()
            if held_place:
                await _hand_on(session, activity_id, now)
            return _sign_up(row)

    async def sign_ups_of(
        self, resident_digest: str, since: datetime | None, include_cancelled: bool
    ) -> list[tuple[SignUp, Activity]]:
        """A resident's sign-ups with their activities, soonest first; ``since`` leaves out those ended."""
        query = (
            select(SignUpRow, ActivityRow)
            .join(ActivityRow, ActivityRow.id == SignUpRow.activity_id)
            .where(SignUpRow.resident_digest == resident_digest)
        )
        if since is not None:
            query = query.where(ActivityRow.ends_at > since)
        if not include_cancelled:
            query = query.where(SignUpRow.status != CANCELLED)
        async with self.sessions() as session:
            rows = (await session.execute(query.order_by(ActivityRow.starts_at, SignUpRow.id))).all()
            found = []
            for sign_up, activity in rows:
                ahead = await _waiting_ahead(session, sign_up) if sign_up.status == WAITING else None
                found.append((_sign_up(sign_up, ahead), _activity(activity)))
            return found

    async def sign_ups_of_activity(self, activity_id: str) -> list[SignUp]:
        """Every sign-up of an activity in order of arrival (for staff views and consistency checks)."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(SignUpRow).where(SignUpRow.activity_id == activity_id).order_by(SignUpRow.position)
            )
            return [_sign_up(r) for r in rows]

    # -- volunteer hours ---------------------------------------------------------------------------

    async def hours_to_report(
        self, activity_id: str, now: datetime, hours_tenths: int, confirmer: Confirmer, retry_at: datetime
    ) -> PendingReport:
        """Mark an ended volunteer activity held, with its hours, report key and who confirmed it
        (once; later calls find it as it is). The caller sends the first report at once: the sweep
        leaves it alone until ``retry_at``. NOT_FOUND, ACTIVITY_NOT_ENDED, NO_VOLUNTEER_HOST."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(ActivityRow)
                .where(
                    ActivityRow.id == activity_id,
                    ActivityRow.host_kind == HOST_VOLUNTEER,
                    ActivityRow.ends_at <= now,
                    ActivityRow.hours_state == HOURS_NONE,
                )
                .values(
                    status=HELD,
                    hours_state=HOURS_PENDING,
                    hours_report_key=report_key(activity_id),
                    hours_tenths=hours_tenths,
                    hours_confirmed_by=confirmer.actor_digest,
                    hours_confirmed_station=confirmer.station,
                    hours_confirmed_channel=confirmer.channel,
                    hours_attempts=1,
                    hours_retry_at=retry_at,
                )
            )
            row = await session.get(ActivityRow, activity_id, populate_existing=True)
            if row is None:
                raise ActivityError("NOT_FOUND", "no such activity")
            if row.host_kind != HOST_VOLUNTEER or row.host_seal is None:
                raise ActivityError(
                    "NO_VOLUNTEER_HOST", "the station hosts this activity: no hours to report"
                )
            if row.hours_state == HOURS_NONE:
                raise ActivityError("ACTIVITY_NOT_ENDED", "hours are reported once the activity has ended")
            return _pending(row)

    async def hours_reported(self, activity_id: str, now: datetime) -> Activity:
        """PENDING -> REPORTED (a second confirmation changes nothing)."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(ActivityRow)
                .where(ActivityRow.id == activity_id, ActivityRow.hours_state == HOURS_PENDING)
                .values(
                    hours_state=HOURS_REPORTED,
                    hours_reported_at=now,
                    hours_retry_at=None,
                    hours_last_error=None,
                )
            )
            row = await session.get(ActivityRow, activity_id, populate_existing=True)
            assert row is not None
            return _activity(row)

    async def hours_not_sent(self, activity_id: str, error: str) -> None:
        """A try failed: why, for staff (the next try's time was set when it was claimed)."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(ActivityRow)
                .where(ActivityRow.id == activity_id, ActivityRow.hours_state == HOURS_PENDING)
                .values(hours_last_error=error[:200])
            )

    async def hours_unreportable(self, activity_id: str, error: str) -> None:
        """PENDING -> UNREPORTABLE: the volunteer can no longer be identified; never tried again."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(ActivityRow)
                .where(ActivityRow.id == activity_id, ActivityRow.hours_state == HOURS_PENDING)
                .values(hours_state=HOURS_UNREPORTABLE, hours_retry_at=None, hours_last_error=error[:200])
            )

    async def due_reports(self, now: datetime, limit: int = 100) -> list[PendingReport]:
        """PENDING reports whose next try is due (a row from before retries were kept has no time)."""
        async with self.sessions() as session:
            rows = await session.scalars(
                select(ActivityRow)
                .where(ActivityRow.hours_state == HOURS_PENDING, _due(now))
                .order_by(ActivityRow.hours_retry_at, ActivityRow.id)
                .limit(limit)
            )
            return [_pending(row) for row in rows]

    async def claim_report(self, activity_id: str, now: datetime, retry_at: datetime) -> bool:
        """Take a due report for one try: one conditional ``UPDATE`` moves its next try to ``retry_at``,
        so a process racing for the same row finds it not due and leaves it (on PostgreSQL it waits for
        the row lock and re-reads the condition; SQLite has one writer)."""
        async with self.sessions.begin() as session:
            claimed = await session.execute(
                update(ActivityRow)
                .where(ActivityRow.id == activity_id, ActivityRow.hours_state == HOURS_PENDING, _due(now))
                .values(hours_retry_at=retry_at, hours_attempts=ActivityRow.hours_attempts + 1)
            )
            return rowcount(claimed) == 1


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(ActivityRow.hours_retry_at.is_(None), ActivityRow.hours_retry_at <= now)


def _pending(row: ActivityRow) -> PendingReport:
    assert row.hours_report_key is not None and row.host_seal is not None
    confirmer = None
    if row.hours_confirmed_by is not None:
        confirmer = Confirmer(
            row.hours_confirmed_by, row.hours_confirmed_station, row.hours_confirmed_channel
        )
    return PendingReport(
        _activity(row), row.hours_report_key, row.host_seal, row.hours_state, row.hours_attempts, confirmer
    )


async def _hand_on(session: AsyncSession, activity_id: str, now: datetime) -> None:
    """A freed place: to the first waiting (the place stays taken), or back to the activity."""
    first = (
        await session.scalars(
            select(SignUpRow)
            .where(SignUpRow.activity_id == activity_id, SignUpRow.status == WAITING)
            .order_by(SignUpRow.position)
            .limit(1)
        )
    ).one_or_none()
    if first is not None:
        promoted = await session.execute(
            update(SignUpRow)
            .where(SignUpRow.id == first.id, SignUpRow.status == WAITING)
            .values(status=SIGNED_UP, promoted_at=now)
        )
        if rowcount(promoted) == 1:
            return
    await session.execute(
        update(ActivityRow)
        .where(ActivityRow.id == activity_id, ActivityRow.taken > 0)
        .values(taken=ActivityRow.taken - 1)
    )


async def _waiting_ahead(session: AsyncSession, row: SignUpRow) -> int:
    counted = await session.scalar(
        select(func.count())
        .select_from(SignUpRow)
        .where(
            SignUpRow.activity_id == row.activity_id,
            SignUpRow.status == WAITING,
            SignUpRow.position < row.position,
        )
    )
    return int(counted or 0)


def _not_open(row: ActivityRow | None) -> ActivityError:
    if row is None:
        return ActivityError("NOT_FOUND", "no such activity")
    return ActivityError("ACTIVITY_STARTED", "this activity has begun or was held: sign-ups are closed")
