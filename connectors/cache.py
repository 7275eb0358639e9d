"""The response cache: aiocache in process memory by default, Redis when ``ONESTOP_CACHE_URL`` says so.

Entries remember when they were stored, so one entry serves both "fresh for ``cache_ttl_s``" and "stale
but better than nothing for ``stale_ttl_s``" (public data only, when the department fails). In memory the
immutable records are kept as they are (no copy, no encoding); in Redis they are JSON encoded through
pydantic, never pickled, so a poisoned cache cannot run code in the gateway.

A cache outage is not a service outage: a Redis error is counted and treated as a miss.

With Redis, public entries (``fresh_s`` given) also go to a small first level in process memory
(``connectors/local_cache.py``) for ``local_ttl_s`` seconds, decoded: a warm catalogue then costs
neither a Redis round trip nor JSON decoding per department. Personal entries never go there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiocache import Cache
from aiocache.serializers import NullSerializer
from pydantic import TypeAdapter

from connectors.local_cache import DEFAULT_MAX_ENTRIES, LocalCache
from connectors.singleflight import SingleFlight
from observability.throttle import ThrottledLog

log = logging.getLogger(__name__)
_throttled = ThrottledLog(log)  # a Redis outage fails every call: one line per action, then a count

T = TypeVar("T")


# The wall clock entries age on (seconds since the epoch: shared between processes through Redis). A
# module attribute, not a parameter: entries are aged deep inside the connector layer, and tests move
# this clock past a freshness instead of sleeping until it passes.
wall_clock: Callable[[], float] = time.time


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    value: T
    stored_at: float  # wall clock, seconds: shared between processes through Redis

    def age(self, now: float | None = None) -> float:
        return max(0.0, (wall_clock() if now is None else now) - self.stored_at)


class ResponseCache:
    def __init__(
        self,
        url: str = "memory://",
        namespace: str = "onestop",
        local_ttl_s: float = 0.0,
        local_max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.url = url
        # "none://" turns caching off: every request asks the departments (debugging, cold benchmarks)
        self.enabled = not url.startswith("none:")
        self.backend: Any = Cache.from_url(url if self.enabled else "memory://")
        self.backend.serializer = NullSerializer()  # we encode ourselves (JSON), or not at all in memory
        self.shared = self.enabled and not url.startswith("memory")
        if not self.shared:
            # aiocache wraps every call in asyncio.wait_for (a task per call) unless its timeout is 0;
            # a dict lookup cannot hang, so the in-memory cache does without
            self.backend.timeout = 0
        self.namespace = namespace
        # the first level only where decoding costs: memory:// already holds decoded entries
        self.local: LocalCache[Entry[Any]] | None = (
            LocalCache(local_ttl_s, local_max_entries) if self.shared and local_ttl_s > 0 else None
        )
        self._reads = SingleFlight()  # when a local entry expires, one Redis read and decode, not one each
        self.hits = 0
        self.misses = 0
        self.errors = 0

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    async def get(
        self, key: str, adapter: TypeAdapter[Entry[T]], fresh_s: float | None = None
    ) -> Entry[T] | None:
        """The entry under ``key``, or None. ``fresh_s`` (public data only: how long the entry stays
        fresh) lets the first level serve and keep it; without it the first level is not used."""
        if not self.enabled:
            return None
        if self.local is None or fresh_s is None:
            return await self._get(key, adapter)
        kept = self.local.get(key)
        if kept is not None:
            self.hits += 1
            return kept
        local = self.local
        return await self._reads.do(key, lambda: self._get_and_keep(key, adapter, fresh_s, local))

    def peek(self, key: str, fresh_s: float | None = None) -> Entry[Any] | None:
        """The entry under ``key`` when it is already in this process's memory (the in-memory cache,
        or the first level for public data), without awaiting anything; None means "ask ``get``".
        Counts nothing: the caller counts the hit it serves (a stale entry it passes over is then
        counted once, by ``get``)."""
        if not self.enabled:
            return None
        if self.local is not None and fresh_s is not None:
            return self.local.get(key)
        if not self.shared:
            # aiocache's memory backend is a dict behind coroutines; entries leave it at their ttl.
            # Should a new aiocache keep it elsewhere, every read simply awaits ``get`` (and
            # tests/test_loaders.py says so)
            entries = getattr(self.backend, "_cache", None)
            kept: Entry[Any] | None = entries.get(self._key(key)) if isinstance(entries, dict) else None
            return kept
        return None

    async def _get_and_keep(
        self, key: str, adapter: TypeAdapter[Entry[T]], fresh_s: float, local: LocalCache[Entry[Any]]
    ) -> Entry[T] | None:
        generation = local.generation
        entry = await self._get(key, adapter)
        if entry is not None and local.generation == generation:  # kept unless a clear came meanwhile
            local.put(key, entry, fresh_s)
        return entry

    async def _get(self, key: str, adapter: TypeAdapter[Entry[T]]) -> Entry[T] | None:
        try:
            raw = await self.backend.get(self._key(key))
        except Exception as exc:
            self._failed("get", exc)
            return None
        if raw is None:
            self.misses += 1
            return None
        self.hits += 1
        if not self.shared:
            entry: Entry[T] = raw
            return entry
        try:
            return adapter.validate_json(raw)
        except ValueError as exc:  # an entry of an older layout, or tampered: a miss, not a crash
            self._failed("decode", exc)
            return None

    async def set(
        self,
        key: str,
        entry: Entry[T],
        ttl: float,
        adapter: TypeAdapter[Entry[T]],
        fresh_s: float | None = None,
    ) -> None:
        """Store ``entry`` for ``ttl`` seconds; ``fresh_s`` as in ``get`` (public data only)."""
        if ttl <= 0 or not self.enabled:
            return
        if self.local is not None and fresh_s is not None:
            self.local.put(key, entry, min(fresh_s, ttl))
        value: Any = adapter.dump_json(entry) if self.shared else entry
        try:
            await self.backend.set(self._key(key), value, ttl=float(ttl))
        except Exception as exc:
            self._failed("set", exc)

    async def clear(self) -> None:
        """Drop Onestop's entries only: a shared Redis may hold other applications' keys."""
        if self.local is not None:
            self.local.clear()
        try:
            await self.backend.clear(namespace=self.namespace)
        except Exception as exc:
            self._failed("clear", exc)

    async def delete(self, key: str) -> None:
        """Forget one entry (a resident's cases after they submitted an application)."""
        if not self.enabled:
            return
        if self.local is not None:
            self.local.discard(key)
        try:
            await self.backend.delete(self._key(key))
        except Exception as exc:
            self._failed("delete", exc)

    async def clear_department(self, department: str) -> None:
        """Drop one department's entries (keys are ``<namespace>:<department>:...``), after its
        connector changed: a rollback must not bring back what the version before it cached."""
        prefix = f"{self.namespace}:{department}"
        if self.local is not None:  # local keys lack the namespace; every process clears its own
            self.local.clear_prefix(f"{department}:")
        try:  # Redis matches "<prefix>:*"; memory matches a plain prefix, so give it the colon
            await self.backend.clear(namespace=prefix if self.shared else f"{prefix}:")
        except Exception as exc:
            self._failed("clear", exc)

    def _failed(self, action: str, exc: Exception) -> None:
        self.errors += 1
        _throttled.warning(f"cache {action}", "cache %s failed: %s", action, type(exc).__name__)

    async def close(self) -> None:
        try:
            await self.backend.close()
        except Exception as exc:
            self._failed("close", exc)
