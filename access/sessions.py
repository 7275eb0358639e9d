"""Assisted sessions: station staff acting for a resident who consented, for some purposes, for a while.

The life of a session: staff ``start`` it (PENDING, consent must come within ``CONSENT_WINDOW_S``),
the resident ``consent``s with their own token (ACTIVE until ``expires_at``), and either side may close
it early: the resident ``revoke``s, the staff member ``end``s. Every transition is one conditional
UPDATE, so two concurrent consents or a consent racing a revocation cannot both win.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from access.policy import AccessDenied, Purpose
from identity.digest import Digester
from identity.principal import Principal, Role
from store.access import AssistedSessionRow
from store.db import rowcount

CONSENT_WINDOW_S = 600  # a request for consent the resident did not answer in 10 minutes lapses
MAX_DURATION_S = 4 * 3600  # no session outlives a working half-day
PENDING, ACTIVE, REVOKED, ENDED = "PENDING", "ACTIVE", "REVOKED", "ENDED"


@dataclass(frozen=True, slots=True)
class PendingLimits:
    """How many requests for consent may wait for an answer at once (``ONESTOP_CONSENT_PENDING_*``).

    Without a bound, staff of any station could pile requests onto one resident's phone (43 in 2 s in
    issue 14) and one staff account could fill the table. A request lapses after ``CONSENT_WINDOW_S``,
    or when the resident declines it or the staff member ends it: that frees its place.
    """

    per_resident: int = 3
    per_staff: int = 20


class TooManyPending(Exception):
    """A typed refusal (``TOO_MANY_PENDING_CONSENTS``): ``scope`` says whose requests are too many."""

    def __init__(self, scope: str, limit: int) -> None:
        whose = "this resident" if scope == "resident" else "you"
        super().__init__(
            f"{limit} requests for consent are already waiting for {whose}; "
            "wait for an answer, or end one (they lapse after 10 minutes)"
        )
        self.extensions = {"code": "TOO_MANY_PENDING_CONSENTS", "scope": scope, "limit": limit}


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session as either side may see it (no ID number: the resident is their sealed handle)."""

    id: str
    station: str
    resident_ref: str
    purposes: tuple[Purpose, ...]
    duration_s: int
    status: str  # PENDING, ACTIVE, REVOKED, ENDED or EXPIRED
    created_at: datetime
    consented_at: datetime | None
    expires_at: datetime
    staff_digest: str
    resident_digest: str


async def _serialized(session: AsyncSession, digests: tuple[str, ...]) -> None:
    """Requests for one resident (or by one staff member) counted and written one at a time, so
    concurrent requests cannot all see room for themselves. PostgreSQL: transaction-scoped advisory
    locks, always taken in the same order (resident, then staff), so no two requests wait on each other
    in a cycle. SQLite: the INSERT that follows takes the database's write lock until commit."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    for digest in digests:
        hashed = hashlib.sha256(b"assisted-session\x00" + digest.encode()).digest()
        key = int.from_bytes(hashed[:8], "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; everything stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _view(row: AssistedSessionRow, now: datetime) -> SessionView:
    expires_at = _aware(row.expires_at)
    status = row.status
    if status in (PENDING, ACTIVE) and expires_at <= now:
        status = "EXPIRED"
    return SessionView(
        id=row.id,
        station=row.station,
        resident_ref=row.resident_ref,
        purposes=tuple(Purpose(p) for p in row.purposes.split(",") if p),
        duration_s=row.duration_s,
        status=status,
        created_at=_aware(row.created_at),
        consented_at=None if row.consented_at is None else _aware(row.consented_at),
        expires_at=expires_at,
        staff_digest=row.staff_digest,
        resident_digest=row.resident_digest,
    )


class AssistedSessions:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        digester: Digester,
        pending: PendingLimits | None = None,
    ) -> None:
        self.sessions = sessions
        self.digest = digester.of  # staff and residents are stored by keyed digest only
        self.pending = pending or PendingLimits()

    async def start(
        self,
        staff: Principal,
        id_number: str,
        resident_ref: str,
        purposes: frozenset[Purpose],
        duration_s: int,
    ) -> SessionView:
        now = datetime.now(UTC)
        row = AssistedSessionRow(
            id=secrets.token_hex(16),
            staff_digest=self.digest(staff.subject),
            station=staff.station or "",
            resident_digest=self.digest(id_number),
            resident_ref=resident_ref,
            purposes=",".join(sorted(p.value for p in purposes)),
            duration_s=duration_s,
            status=PENDING,
            created_at=now,
            consented_at=None,
            expires_at=now + timedelta(seconds=CONSENT_WINDOW_S),
            closed_at=None,
        )
        async with self.sessions.begin() as session:
            await _serialized(session, (row.resident_digest, row.staff_digest))
            session.add(row)
            await session.flush()
            await self._within_limits(session, row, now)  # raising rolls the request back
        return _view(row, now)

    async def _within_limits(self, session: AsyncSession, row: AssistedSessionRow, now: datetime) -> None:
        Row = AssistedSessionRow
        count = select(func.count()).select_from(Row).where(Row.status == PENDING, Row.expires_at > now)
        for scope, column, digest, limit in (
            ("resident", Row.resident_digest, row.resident_digest, self.pending.per_resident),
            ("staff", Row.staff_digest, row.staff_digest, self.pending.per_staff),
        ):
            if (await session.scalar(count.where(column == digest)) or 0) > limit:
                raise TooManyPending(scope, limit)

    async def consent(self, resident: Principal, session_id: str) -> SessionView:
        """The resident agrees: the session is ACTIVE for its duration from now."""
        now = datetime.now(UTC)
        row = await self._own(resident, session_id)
        if _view(row, now).status != PENDING:
            raise AccessDenied("FORBIDDEN", "this session is not waiting for consent")
        expires_at = now + timedelta(seconds=row.duration_s)
        changed = await self._transition(
            session_id, PENDING, status=ACTIVE, consented_at=now, expires_at=expires_at
        )
        if not changed:
            raise AccessDenied("FORBIDDEN", "this session is not waiting for consent")
        return await self.get(session_id)

    async def revoke(self, resident: Principal, session_id: str) -> SessionView:
        """The resident withdraws consent (or declines a pending request); reads stop at once."""
        await self._own(resident, session_id)
        await self._close(session_id, REVOKED)
        return await self.get(session_id)

    async def end(self, staff: Principal, session_id: str) -> SessionView:
        row = await self._get_row(session_id)
        if row is None or row.staff_digest != self.digest(staff.subject):
            raise AccessDenied("FORBIDDEN", "no such session of yours")
        await self._close(session_id, ENDED)
        return await self.get(session_id)

    async def active_session(
        self, staff: Principal, resident_digest: str, purpose: Purpose | None
    ) -> str | None:
        if staff.role is not Role.STAFF:
            return None
        now = datetime.now(UTC)
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AssistedSessionRow).where(
                    AssistedSessionRow.staff_digest == self.digest(staff.subject),
                    AssistedSessionRow.resident_digest == resident_digest,
                    AssistedSessionRow.status == ACTIVE,
                )
            )
            for row in rows:
                view = _view(row, now)
                if view.status == ACTIVE and (purpose is None or purpose in view.purposes):
                    return view.id
        return None

    async def for_resident(self, resident: Principal) -> list[SessionView]:
        """Sessions asking for or holding this resident's consent, newest first."""
        now = datetime.now(UTC)
        async with self.sessions() as session:
            rows = await session.scalars(
                select(AssistedSessionRow)
                .where(AssistedSessionRow.resident_digest == self.digest(resident.subject))
                .order_by(AssistedSessionRow.created_at.desc())
                .limit(50)
            )
            return [_view(r, now) for r in rows]

    async def get(self, session_id: str) -> SessionView:
        row = await self._get_row(session_id)
        assert row is not None  # only called for a session just found
        return _view(row, datetime.now(UTC))

    async def _get_row(self, session_id: str) -> AssistedSessionRow | None:
        async with self.sessions() as session:
            return await session.get(AssistedSessionRow, session_id[:64])

    async def _own(self, resident: Principal, session_id: str) -> AssistedSessionRow:
        """The session, if it asks for this resident's consent; one answer for 'not yours' and 'none'."""
        row = await self._get_row(session_id)
        if row is None or resident.role is not Role.RESIDENT:
            raise AccessDenied("FORBIDDEN", "no such session for you")
        if row.resident_digest != self.digest(resident.subject):
            raise AccessDenied("FORBIDDEN", "no such session for you")
        return row

    async def _close(self, session_id: str, status: str) -> None:
        now = datetime.now(UTC)
        for current in (PENDING, ACTIVE):
            await self._transition(session_id, current, status=status, closed_at=now)

    async def _transition(self, session_id: str, current: str, **values: object) -> bool:
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(AssistedSessionRow)
                .where(AssistedSessionRow.id == session_id, AssistedSessionRow.status == current)
                .values(**values)
            )
        return rowcount(result) > 0
