"""The access log: written before personal data leaves the gateway, read only by the resident.

Rows of one request are written together in one transaction (``write``); the schema layer writes them
after the operation ran and withholds the data if writing failed, so nothing is ever read unlogged.
Each resident's rows form a keyed hash chain (``access/chain.py``), so a row deleted or altered in the
database is detected (``verify``, ``onestop audit verify``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from access.chain import ChainKey, Report, append, expire, verify_resident
from access.policy import AccessRecord
from store.access import AccessLogRow


@dataclass(frozen=True, slots=True)
class LoggedAccess:
    """One log row as the resident sees it (the actor is a digest and a role, never a name)."""

    id: int
    at: datetime
    actor_digest: str
    actor_role: str
    station: str | None
    data: str
    department: str | None
    purpose: str
    channel: str
    session_id: str | None


class AccessLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], key: ChainKey) -> None:
        self.sessions = sessions
        self.key = key

    async def verify(self, resident_digest: str) -> Report:
        """Does this resident's chain hold: every row there, none altered since written?"""
        return await verify_resident(self.sessions, self.key, resident_digest)

    async def expire(self, before: datetime) -> int:
        """Delete rows older than ``before``, keeping every chain verifiable; how many went."""
        return await expire(self.sessions, self.key, before)

    async def write(self, records: Sequence[AccessRecord]) -> None:
        if not records:
            return
        rows = [
            {
                "at": r.at,
                "actor_digest": r.actor_digest,
                "actor_role": r.actor_role.value,
                "station": r.station,
                "resident_digest": r.resident_digest,
                "data": r.data,
                "department": r.department,
                "purpose": r.purpose.value,
                "channel": r.channel.value,
                "session_id": r.session_id,
            }
            for r in records
        ]
        await append(self.sessions, self.key, rows)

    async def read(self, resident_digest: str, first: int, before: int | None = None) -> list[LoggedAccess]:
        """The resident's log, newest first; ``before`` is the id of the last row already seen."""
        query = select(AccessLogRow).where(AccessLogRow.resident_digest == resident_digest)
        if before is not None:
            query = query.where(AccessLogRow.id < before)
        async with self.sessions() as session:
            rows = await session.scalars(query.order_by(AccessLogRow.id.desc()).limit(first))
            return [
                LoggedAccess(
                    id=r.id,
                    at=r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC),
                    actor_digest=r.actor_digest,
                    actor_role=r.actor_role,
                    station=r.station,
                    data=r.data,
                    department=r.department,
                    purpose=r.purpose,
                    channel=r.channel,
                    session_id=r.session_id,
                )
                for r in rows
            ]
