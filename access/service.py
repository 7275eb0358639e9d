"""``Access``: the policy, assisted sessions, the access log and resident handles of one gateway.

Built once per app (``Services.access``, services.py) from the store and the settings;
``schema.context.Context`` hands requests to it. ``LogExpiry``: the background task that deletes access-log
rows past their retention.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from access.chain import ChainKey
from access.identifiers import ResidentSeal
from access.log import AccessLog
from access.policy import AccessPolicy
from access.sessions import AssistedSessions, PendingLimits
from identity.digest import DEVELOPMENT_SECRET, Digester
from observability.supervisor import stop, supervise

log = logging.getLogger("onestop")


class Access:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        secret: str | None,
        digester: Digester,
        chain_key: ChainKey | None = None,
        pending: PendingLimits | None = None,
    ) -> None:
        self.seal = ResidentSeal(secret)
        self.sessions = AssistedSessions(sessions, digester, pending)
        self.log = AccessLog(sessions, chain_key or ChainKey(DEVELOPMENT_SECRET))
        self.policy = AccessPolicy(self.sessions, self.seal.open, digester)

    def handle(self, id_number: str) -> str:
        """The opaque ``Resident.id`` of a resident."""
        return self.seal.seal(id_number)


class LogExpiry:
    """Every ``interval_s``, delete access-log rows older than ``retention_days`` (0: kept for ever).

    Every process may run it: expiry is conditional, so two processes expiring at once delete each row
    once. Supervised: restarted if it fails, never left dangling."""

    def __init__(self, log: AccessLog, retention_days: int, interval_s: float) -> None:
        self.log = log
        self.retention_days = retention_days
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.retention_days and self._task is None:
            self._task = supervise("access-log-expiry", self._run)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await stop(task)

    async def _run(self) -> None:
        while True:
            cutoff = datetime.now(UTC) - timedelta(days=self.retention_days)
            expired = await self.log.expire(cutoff)
            if expired:
                log.info("access log: %d rows past %d days expired", expired, self.retention_days)
            await asyncio.sleep(self.interval_s)
