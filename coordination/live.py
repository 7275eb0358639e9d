"""Live case updates wired together: the change publisher, the watch (pollers) and the webhook route.

``LiveCases.build`` is all the server needs: it adds ``routes``, keeps the object in ``Services.live``
(``live.watch`` is what subscriptions use) and calls ``close`` on shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.routing import BaseRoute, Route

from connectors.registry import Registry
from coordination.bus import Bus
from coordination.case_changes import ChangePublisher, ledger_for
from coordination.watch import CaseWatch
from coordination.webhook_endpoint import WebhookEndpoint
from identity.digest import Digester

# a signed call is refused when seen again within this long (the largest allowed max_skew_s, twice)
REPLAY_MEMORY_S = 7200


@dataclass(slots=True)
class LiveCases:
    watch: CaseWatch
    webhooks: WebhookEndpoint

    @classmethod
    def build(
        cls,
        registry: Callable[[], Registry],
        bus: Bus,
        namespace: str,
        poll_min_s: float,
        poll_max_s: float,
        max_body_bytes: int,
        digester: Digester,
    ) -> LiveCases:
        publisher = ChangePublisher(bus, ledger_for(bus, namespace), digester)
        watch = CaseWatch(registry, publisher, poll_min_s, poll_max_s)
        # replay protection fails closed: with Redis away a webhook is refused (503), never accepted twice
        seen = ledger_for(bus, namespace, "webhook-seen", REPLAY_MEMORY_S, fail_open=False)
        return cls(watch, WebhookEndpoint(watch, seen, max_body_bytes))

    @property
    def routes(self) -> list[BaseRoute]:
        return [Route("/webhooks/{department}", self.webhooks.handle, methods=["POST"])]

    async def close(self) -> None:
        await self.webhooks.close()
        await self.watch.close()
