"""The live set of department connectors, built from their active specs.

A ``Department`` bundles what one department needs at run time: its spec, one pooled transport, its
resilience layer and its adapter. The registry is what resolvers ask: "who has a catalogue?".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connectors.adapter import SpecAdapter
from connectors.auth import authenticator_for
from connectors.cache import ResponseCache
from connectors.resilience import Resilience
from connectors.spec import ConnectorSpec
from connectors.transport import AiohttpTransport, Transport, UpstreamRequest, UpstreamResponse


@dataclass(slots=True)
class Department:
    spec: ConnectorSpec
    version: int
    transport: Transport
    resilience: Resilience
    adapter: SpecAdapter[Any]

    @property
    def id(self) -> str:
        return self.spec.id

    def state(self) -> dict[str, Any]:
        breaker = self.resilience.breaker
        return {
            "version": self.version,
            "capabilities": list(self.spec.capabilities),
            "breaker": breaker.state.value,
            "retry_after_s": round(breaker.retry_after(), 1),
            "in_flight": self.resilience.in_flight,
        }


def build_department(spec: ConnectorSpec, version: int, cache: ResponseCache) -> Department:
    transport = AiohttpTransport(spec.id, spec.policy.concurrency, spec.policy.max_body_bytes)
    resilience = Resilience(spec.id, spec.policy, cache)

    async def send_token_request(request: UpstreamRequest) -> UpstreamResponse:
        return await transport.send(request, spec.policy.timeout_s)

    auth = authenticator_for(spec.auth, spec.base_url, spec.id, send_token_request)
    return Department(spec, version, transport, resilience, SpecAdapter(spec, transport, resilience, auth))


class Registry:
    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache
        self._departments: dict[str, Department] = {}
        self._ordered: list[Department] = []

    def load(self, specs: Iterable[tuple[ConnectorSpec, int]]) -> None:
        """Build a department for each (spec, version). Call ``close`` to release their sessions."""
        for spec, version in specs:
            self._departments[spec.id] = build_department(spec, version, self.cache)
        self._ordered = sorted(self._departments.values(), key=lambda d: d.id)

    def get(self, department_id: str) -> Department | None:
        return self._departments.get(department_id)

    def all(self) -> list[Department]:
        return list(self._ordered)

    def with_capability(self, capability: str) -> list[Department]:
        return [d for d in self.all() if capability in d.spec.operations]

    async def close(self) -> None:
        for department in self._departments.values():
            await department.transport.close()
        self._departments.clear()
        self._ordered = []
