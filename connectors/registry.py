"""The live set of department connectors, built from their active specs.

A ``Department`` bundles what one department needs at run time: its spec, one pooled transport, its
resilience layer and its adapter. The registry is what resolvers ask: "who has a catalogue?".

Hot reload swaps departments without a restart. The maps are copied on write and each request works on
a ``snapshot()`` taken when it starts, so a request in flight finishes on the version it began with.
A replaced department is retired, not closed at once: its session closes after ``RETIRE_GRACE_S``
and once no call of it is in flight (bounded by ``RETIRE_MAX_WAIT_S``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.adapter import SpecAdapter
from connectors.auth import Authenticator, authenticator_for
from connectors.cache import ResponseCache
from connectors.resilience import Resilience, UpstreamObserver
from connectors.spec import ConnectorSpec
from connectors.transport import AiohttpTransport, Transport, UpstreamRequest, UpstreamResponse
from identity.digest import Digester

log = logging.getLogger(__name__)

RETIRE_GRACE_S = 10.0  # a retired department's session stays open at least this long
RETIRE_MAX_WAIT_S = 120.0  # then waits for its calls in flight, but never longer than this
RETIRE_POLL_S = 0.5


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
    spec: ConnectorSpec,
    version: int,
    cache: ResponseCache,
    observer: UpstreamObserver | None = None,
    digester: Digester | None = None,
) -> Department:
    transport = AiohttpTransport(spec.id, spec.policy.concurrency, spec.policy.max_body_bytes)
    resilience = Resilience(spec.id, spec.policy, cache, observer=observer)

    async def send_token_request(request: UpstreamRequest) -> UpstreamResponse:
        return await transport.send(request, spec.policy.timeout_s)

    envelope = getattr(spec.format, "envelope", None)
    auth = authenticator_for(spec.auth, spec.base_url, spec.id, send_token_request, envelope)
    own: dict[str, Authenticator] = {  # operations with their own auth get their own token (or signer)
        capability: authenticator_for(
            operation.auth,
            spec.base_url,
            spec.id,
            send_token_request,
            getattr(spec.format_of(operation), "envelope", None),
        )
        for capability, operation in spec.operations.items()
        if operation.auth is not None
    }
    adapter = SpecAdapter(spec, transport, resilience, auth, digester, own)
    return Department(spec, version, transport, resilience, adapter)


class Registry:
    def __init__(
        self,
        cache: ResponseCache,
        observer: UpstreamObserver | None = None,
        digester: Digester | None = None,
    ) -> None:
        self.cache = cache
        self.observer = observer  # metrics and traces of every upstream call
        # names residents in cache keys; one for all departments and versions, so a reload keeps them
        self.digester = digester or Digester.ephemeral()
        self._departments: dict[str, Department] = {}
        self._ordered: list[Department] = []
        self._retiring: set[asyncio.Task[None]] = set()

    def load(self, specs: Iterable[tuple[ConnectorSpec, int]]) -> None:
        """Build a department for each (spec, version). Call ``close`` to release their sessions."""
        self.replace(specs)

    def replace(
        self, specs: Iterable[tuple[ConnectorSpec, int]], removed: Collection[str] = ()
    ) -> list[Department]:
        """Swap in new versions and drop ``removed`` departments; the others keep their objects (and
        their pools, breakers and tokens). Returns the departments replaced, which are being retired."""
        departments = dict(self._departments)  # copy on write: snapshots keep the maps they hold
        old: list[Department] = [departments.pop(d) for d in removed if d in departments]
        for spec, version in specs:
            replaced = departments.get(spec.id)
            if replaced is not None:
                old.append(replaced)
            departments[spec.id] = build_department(spec, version, self.cache, self.observer, self.digester)
        self._departments = departments
        self._ordered = sorted(departments.values(), key=lambda d: d.id)
        for department in old:
            self._retire(department)
        return old

    def versions(self) -> dict[str, int]:
        """Department -> version served by this process."""
        return {d.id: d.version for d in self._ordered}

    def snapshot(self) -> Registry:
        """A view of the departments served now, unchanged by later reloads (one per request)."""
        view = copy.copy(self)  # shares the current maps, which reloads replace and never mutate
        view._retiring = set()
        return view

    def get(self, department_id: str) -> Department | None:
        return self._departments.get(department_id)

    def all(self) -> list[Department]:
        return list(self._ordered)

    def with_capability(self, capability: str) -> list[Department]:
        return [d for d in self.all() if capability in d.spec.operations]

    def _retire(self, department: Department) -> None:
        try:
            task = asyncio.get_running_loop().create_task(_close_when_idle(department))
        except RuntimeError:  # no loop (a synchronous test): nothing can still be using it
            return
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def close(self) -> None:
        for task in list(self._retiring):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for department in self._departments.values():
            await department.transport.close()
        self._departments = {}
        self._ordered = []


async def _close_when_idle(department: Department) -> None:
    """Close a replaced department's session once requests that began on it are done."""
    try:
        await asyncio.sleep(RETIRE_GRACE_S)  # requests that began on it but have not called yet
        for _ in range(int(RETIRE_MAX_WAIT_S / RETIRE_POLL_S)):
            if not department.resilience.in_flight:
                break
            await asyncio.sleep(RETIRE_POLL_S)
    finally:  # cancelled at shutdown: close now
        await department.transport.close()
        log.info("connector %s v%d retired", department.id, department.version)
