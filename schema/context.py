"""What every resolver gets per request: the registry, per-request DataLoaders and the notices."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from connectors.registry import Registry
from identity.principal import ClientChannel, Principal
from resolvers.loaders import Loaders
from resolvers.notices import Notices, Path


@dataclass(slots=True)
class Context:
    registry: Registry
    notices: Notices = field(default_factory=Notices)
    loaders: Loaders = field(init=False)
    request: Any = None
    state: Any = None  # the app's state: sessions (store), bus, settings, cache
    principal: Principal | None = None  # None: no token, public data only
    channel: ClientChannel = ClientChannel.UNKNOWN
    views: dict[str, Any] = field(default_factory=dict)  # per-request memo of GraphQL views by key

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.registry, self.notices)


Info = StrawberryInfo[Context, None]


def path_of(info: Info) -> Path:
    return tuple(info.path.as_list())
