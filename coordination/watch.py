"""Watched cases and their poller: ask departments about a resident's cases only while someone listens.

A subscription *watches* a resident at some departments. For each (resident, department) watched in
this process there is one poller: it asks the department for that resident's cases (one call for all
of them, through the connector's usual breaker and deadline, past the cache), compares with what it
saw last, and publishes each change. It waits ``min_s`` at first, twice as long after each quiet poll
up to ``max_s``, and ``min_s`` again after a change; it does not call while the department's breaker is
open, and it stops when the last watcher leaves.

The last answer per (resident, department) is kept here too, so a subscriber told of a change finds the
new case without asking the department again, and a webhook's confirmation refreshes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

from connectors.breaker import BreakerState
from connectors.errors import UpstreamError
from connectors.registry import Registry
from coordination.case_changes import ChangePublisher, Source, change_of, same_state
from domain.records import CaseRecord
from observability.supervisor import supervise
from observability.throttle import ThrottledLog

log = logging.getLogger("onestop.cases.watch")
_throttled = ThrottledLog(log)

Key = tuple[str, str]  # (resident ID number, department) — in memory only, never logged


@dataclass(slots=True)
class Watched:
    """One resident at one department: how many listen, the cases last seen, the poller."""

    watchers: int = 0
    cases: dict[str, CaseRecord] | None = None  # by department reference; None until first seen
    poller: asyncio.Task[None] | None = None
    wait_s: float = 0.0
    polls: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class CaseWatch:
    def __init__(
        self,
        registry: Callable[[], Registry],
        publisher: ChangePublisher,
        min_s: float,
        max_s: float,
    ) -> None:
        self.registry = registry
        self.publisher = publisher
        self.min_s = min_s
        self.max_s = max(max_s, min_s)
        self._watched: dict[Key, Watched] = {}

    # -- watchers ----------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def watching(self, resident_id: str, departments: Iterable[str]) -> AsyncIterator[None]:
        """Poll these departments for this resident while the block runs."""
        keys = [(resident_id, d) for d in dict.fromkeys(departments)]
        for key in keys:
            self._join(key)
        try:
            yield
        finally:
            for key in keys:
                self._leave(key)

    def _join(self, key: Key) -> None:
        watched = self._watched.setdefault(key, Watched())
        watched.watchers += 1
        if watched.poller is None or watched.poller.done():
            watched.wait_s = self.min_s
            watched.poller = supervise("case-poller", lambda: self._poll_loop(key, watched))

    def _leave(self, key: Key) -> None:
        watched = self._watched.get(key)
        if watched is None:
            return
        watched.watchers -= 1
        if watched.watchers <= 0:
            del self._watched[key]
            if watched.poller is not None:
                watched.poller.cancel()

    def pollers(self) -> int:
        """Pollers running in this process (for tests and /readyz)."""
        return sum(1 for w in self._watched.values() if w.poller is not None and not w.poller.done())

    def seen(self, resident_id: str, department: str) -> dict[str, CaseRecord] | None:
        watched = self._watched.get((resident_id, department))
        return None if watched is None else watched.cases

    async def close(self) -> None:
        tasks = [w.poller for w in self._watched.values() if w.poller is not None]
        self._watched.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- polling -----------------------------------------------------------------------------------

    async def _poll_loop(self, key: Key, watched: Watched) -> None:
        resident_id, department = key
        while True:
            await asyncio.sleep(watched.wait_s)
            pause = self._breaker_pause(department)
            if pause is not None:
                watched.wait_s = max(self.min_s, min(pause, self.max_s))
                continue
            try:
                changed = await self.refresh(resident_id, department, "POLL")
            except UpstreamError as error:
                _throttled.info(
                    f"poll {department} {error.code.value}",
                    "case poll of %s failed: %s",
                    department,
                    error.code.value,
                )
                changed = 0
            watched.polls += 1
            watched.wait_s = self.min_s if changed else min(watched.wait_s * 2, self.max_s)

    def _breaker_pause(self, department: str) -> float | None:
        """Seconds until the department's breaker lets a call through; None when it does now."""
        found = self.registry().get(department)
        if found is None:
            return self.max_s
        breaker = found.resilience.breaker
        return breaker.retry_after() if breaker.state is BreakerState.OPEN else None

    # -- what changed --------------------------------------------------------------------------------

    async def fetch(self, resident_id: str, department: str) -> dict[str, CaseRecord]:
        """The resident's cases at the department, asked now (raises ``UpstreamError``, ``LookupError``)."""
        found = self.registry().get(department)
        if found is None or "cases" not in found.spec.operations:
            raise LookupError(f"{department} keeps no cases")
        result = await found.adapter.fresh_cases(resident_id)
        return {r.id: r for r in result.records}

    async def refresh(self, resident_id: str, department: str, source: Source) -> int:
        """Ask the department now, publish what changed since last seen; returns how many changed.

        The first answer for a resident is the baseline: nothing is published for it.
        """
        current = await self.fetch(resident_id, department)
        watched = self._watched.get((resident_id, department))
        if watched is None:
            return 0
        async with watched.lock:
            before, watched.cases = watched.cases, current
        if before is None:
            return 0
        changed = 0
        for ref, record in current.items():
            previous = before.get(ref)
            if previous is not None and same_state(previous, record):
                continue
            changed += 1
            await self.publisher.publish(change_of(record, previous, source, self.publisher.digester))
        return changed

    async def confirm(self, resident_id: str, department: str, ref: str, source: Source) -> bool:
        """A department said ``ref`` changed: ask it (the answer, not the call, is the truth) and publish.

        Returns False when the department does not know that case for that resident.
        """
        current = await self.fetch(resident_id, department)
        record = current.get(ref)
        if record is None:
            return False
        watched = self._watched.get((resident_id, department))
        previous = None
        if watched is not None:
            async with watched.lock:
                previous = (watched.cases or {}).get(ref)
                if watched.cases is not None:
                    watched.cases = current
        if previous is not None and same_state(previous, record):
            return True  # already known here (and published by whoever saw it first)
        await self.publisher.publish(change_of(record, previous, source, self.publisher.digester))
        return True

    def baseline(self, resident_id: str, department: str, cases: dict[str, CaseRecord]) -> None:
        """What a new subscriber just fetched: the first state pollers compare against."""
        watched = self._watched.get((resident_id, department))
        if watched is not None and watched.cases is None:
            watched.cases = dict(cases)
