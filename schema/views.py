"""GraphQL views of connector records, made once per record rather than once per request.

A department's catalogue and stations are immutable records kept in the connectors' cache and handed
to request after request; their strawberry views (``Service``, ``Station`` with its opening hours) hold
nothing of the request (fields that need it, like ``Service.department``, are resolvers), so the view
made for a record serves every request that meets the same record. Keyed by the record's identity and
holding the record, so an id is never reused while its entry lives; bounded (cleared when full: records
a reload or an expiry replaced are never asked again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

R = TypeVar("R")
V = TypeVar("V")


class RecordViews(Generic[R, V]):
    def __init__(self, make: Callable[[R], V], max_entries: int = 4096) -> None:
        self.make = make
        self.max_entries = max_entries
        self._views: dict[int, tuple[R, V]] = {}

    def __call__(self, record: R) -> V:
        kept = self._views.get(id(record))
        if kept is not None and kept[0] is record:
            return kept[1]
        view = self.make(record)
        if len(self._views) >= self.max_entries:
            self._views.clear()
        self._views[id(record)] = (record, view)
        return view
