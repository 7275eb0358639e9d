"""A small first level in process memory in front of the shared (Redis) response cache.

Why: with Redis every warm catalogue or stations query fetched and JSON-decoded every department's
entry, on every request; decoding dominated (about ten times slower than the in-memory cache). Here a
process keeps the *decoded* entries of public operations for a few seconds, so most requests touch
neither Redis nor the decoder, and the processes sharing Redis still agree within those seconds.

Only public data is kept (catalogues, stations): personal data never sits in process memory beyond a
request. An entry is kept for ``ttl_s`` at most and never past its own freshness (``fresh_s``), so a
local hit is always a fresh hit; stale-on-error keeps reading the shared level. Entries keep their
original ``stored_at``, so the age a response reports is the age of the fetch, not of the local copy.
Bounded by entry count, least recently used first out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class Aged(Protocol):
    """What this level asks of an entry: how old its data is (cache.py's ``Entry``)."""

    def age(self) -> float: ...


E = TypeVar("E", bound=Aged)

DEFAULT_MAX_ENTRIES = 512  # 19 departments x 2 public operations, with room for a few spec versions


class LocalCache(Generic[E]):
    def __init__(
        self,
        ttl_s: float,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        # key -> (entry, clock time after which it is not served); order: least recently used first
        self._entries: OrderedDict[str, tuple[E, float]] = OrderedDict()
        self.evictions = 0
        # bumped by every removal: a reader that fetched from the shared level across a removal
        # must not put back what was just removed (see ``ResponseCache.get``)
        self.generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> E | None:
        found = self._entries.get(key)
        if found is None:
            return None
        entry, until = found
        if self._clock() >= until:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: E, fresh_s: float) -> None:
        """Keep ``entry`` for ``ttl_s``, or less if it stops being fresh (``fresh_s`` after its fetch)."""
        keep = min(self.ttl_s, fresh_s - entry.age())
        if keep <= 0:
            self._entries.pop(key, None)  # an older copy must not outlive a newer, stale one
            return
        self._entries[key] = (entry, self._clock() + keep)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1

    def discard(self, key: str) -> None:
        self.generation += 1
        self._entries.pop(key, None)

    def clear_prefix(self, prefix: str) -> None:
        self.generation += 1
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
