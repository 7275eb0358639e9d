"""``Access``: the policy, assisted sessions, the access log and resident handles of one gateway.

Built once per app (``app.state.access``) from the store and the settings; ``schema.context.Context``
hands requests to it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from access.chain import ChainKey
from access.identifiers import ResidentSeal
from access.log import AccessLog
from access.policy import AccessPolicy
from access.sessions import AssistedSessions, PendingLimits
from identity.digest import DEVELOPMENT_SECRET, Digester


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
