"""The live set of department connectors, built from their active specs.

A ``Department`` bundles what one department needs at run time: its spec, one pooled transport, its
resilience layer and its adapter. The registry is what resolvers ask: "who has a catalogue?".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.adapter import SpecAdapter
from connectors.auth import authenticator_for
from connectors.cache import ResponseCache
from connectors.resilience import Resilience, UpstreamObserver
from connectors.spec import ConnectorSpec
from connectors.transport import AiohttpTransport, Transport, UpstreamRequest, UpstreamResponse


@dataclass(slots=True)
class Department:
    spec: ConnectorSpec
    version: int
    transport: Transport
    resilience: Resilience
    adapter: SpecAdapter

    @property
    def id(self) -> str:
        return self.spec.id

    def state(self) -> dict[str, Any]:
        layer = self.resilience
        failure = layer.last_failure
        return {
            "version": self.version,
            "capabilities": list(self.spec.capabilities),
            "breaker": layer.breaker.state.value,
            "retry_after_s": round(layer.breaker.retry_after(), 1),
            "in_flight": layer.in_flight,
            "upstream_calls": layer.upstream_calls,
            "last_success_at": _iso(layer.last_success_at),
            "last_failure": None if failure is None else {"at": _iso(failure[0]), "code": failure[1]},
        }


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def build_department(
    spec: ConnectorSpec, version: int, cache: ResponseCache, observer: UpstreamObserver | None = None
) -> Department:
    transport = AiohttpTransport(spec.id, spec.policy.concurrency, spec.policy.max_body_bytes)
    resilience = Resilience(spec.id, spec.policy, cache, observer=observer)

    async def send_token_request(request: UpstreamRequest) -> UpstreamResponse:
        return await transport.send(request, spec.policy.timeout_s)

    envelope = getattr(spec.format, "envelope", None)
    auth = authenticator_for(spec.auth, spec.base_url, spec.id, send_token_request, envelope)
    return Department(spec, version, transport, resilience, SpecAdapter(spec, transport, resilience, auth))


class Registry:
    def __init__(self, cache: ResponseCache, observer: UpstreamObserver | None = None) -> None:
        self.cache = cache
        self.observer = observer  # metrics and traces of every upstream call
        self._departments: dict[str, Department] = {}
        self._ordered: list[Department] = []

    def load(self, specs: Iterable[tuple[ConnectorSpec, int]]) -> None:
        """Build a department for each (spec, version). Call ``close`` to release their sessions."""
        for spec, version in specs:
            self._departments[spec.id] = build_department(spec, version, self.cache, self.observer)
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
