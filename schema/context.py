"""What every resolver gets per request: the registry, per-request DataLoaders and the notices.

``services``: the app's parts, typed (services.py): ``info.context.services.access``, ``.sessions``, ...
``registry``: the connector versions this request works on, snapshotted when it began (a hot reload
during the request does not change them under it); ``services.registry`` is the live one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from access.policy import AccessRecord, Acting, Purpose, access_record
from connectors.registry import Registry
from identity.principal import ClientChannel, Principal
from resolvers.loaders import Loaders
from resolvers.notices import Notices, Path
from services import Services


@dataclass(slots=True)
class Context:
    registry: Registry
    services: Services
    request: Request | WebSocket  # the HTTP request, or the websocket the operation came on
    notices: Notices = field(default_factory=Notices)
    loaders: Loaders = field(init=False)
    principal: Principal | None = None  # None: no token, public data only
    channel: ClientChannel = ClientChannel.UNKNOWN
    views: dict[str, Any] = field(default_factory=dict)  # per-request memo of GraphQL views by key
    connection_params: dict[str, Any] | None = None  # websocket connection_init payload (the token)
    # access: decisions memoized per request; log rows written when the operation ends (see
    # schema/access_log.py), or at once when no operation batch is open (subscriptions)
    acting_memo: dict[tuple[str | None, Purpose], Acting] = field(default_factory=dict)
    # a websocket's context lives as long as the connection: every operation on it decides afresh,
    # so a consent revoked or a session ended mid-connection is honoured by the next operation
    memoize_access: bool = True
    access_batch: list[AccessRecord] | None = None

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.registry, self.notices)

    async def acting_for(self, resident: str | None, purpose: Purpose) -> Acting:
        """May this request read ``resident``'s personal data for ``purpose``? (access/policy.py)

        ``resident=None`` means the caller themself (a resident); otherwise the opaque ``Resident.id``.
        Raises ``AccessDenied`` (a typed GraphQL error: UNAUTHENTICATED, FORBIDDEN, CONSENT_REQUIRED).
        """
        key = (resident, purpose)
        acting = self.acting_memo.get(key)
        if acting is None:
            acting = await self.services.access.policy.acting_for(self.principal, resident, purpose)
            if self.memoize_access:
                self.acting_memo[key] = acting
        return acting

    async def record_access(self, acting: Acting, data: str, department: str | None) -> None:
        """One access-log row: who read which of the resident's data, from which department, why."""
        record = access_record(acting, data, department, self.channel)
        if self.access_batch is not None:
            self.access_batch.append(record)
        else:
            await self.services.access.log.write([record])


Info = StrawberryInfo[Context, None]


def path_of(info: Info) -> Path:
    return tuple(info.path.as_list())
