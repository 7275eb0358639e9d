"""Per-request DataLoaders: each department's catalogue and stations at most once per request.

However many fields ask (``services``, ``service(id)``, every ``Station.services``), a department is
called once per request — and not at all when its answer is cached — and departments are asked in
parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Sequence
from functools import partial
from typing import Any

from strawberry.dataloader import DataLoader

from connectors.errors import UpstreamError
from connectors.registry import Registry
from connectors.resilience import Fetched
from domain.records import OperationResult, ServiceRecord, StationRecord
from resolvers.notices import Notices, Path
from resolvers.settle import retrieve, settle

Result = Fetched[OperationResult[Any]]


class Loaders:
    def __init__(self, registry: Registry, notices: Notices) -> None:
        self.registry = registry
        self.notices = notices
        # partial, not a lambda over self: no reference cycle per request for the GC to chase
        self.catalog: DataLoader[str, Result] = DataLoader(partial(_load, registry, "catalog"))
        self.stations: DataLoader[str, Result] = DataLoader(partial(_load, registry, "stations"))
        # one index build per request, shared by every field that asks at once (``_entities`` resolves
        # hundreds of references concurrently; each would otherwise walk the whole catalogue)
        self._catalog_index: asyncio.Task[dict[str, ServiceRecord]] | None = None
        self._station_index: asyncio.Task[dict[str, StationRecord]] | None = None
        # answers found in process memory without awaiting, by (capability, department): see ``gather``
        self._known: dict[tuple[str, str], Result] = {}

    async def gather(
        self, loader: DataLoader[str, Result], capability: str, department_ids: Iterable[str], path: Path
    ) -> list[Any]:
        """Records of every named department that answered; the others become notices.

        A department whose answer is a fresh hit already in process memory is answered at once; only
        the others go through the DataLoader (a batch task, a future each, ``settle``'s shields). A
        warm public read therefore schedules nothing, and each department still has one answer per
        request: what was answered at once is kept, and a department the loader was asked for stays
        with the loader.
        """
        ids = list(department_ids)
        known = [self._now(loader, capability, d) for d in ids]
        waiting = [d for d, k in zip(ids, known, strict=True) if k is None]
        loaded = iter(await settle(waiting, map(loader.load, waiting)) if waiting else ())
        records: list[Any] = []
        for department_id, now in zip(ids, known, strict=True):
            result = now if now is not None else next(loaded)
            if isinstance(result, UpstreamError):
                self.notices.failed(result, path)
            else:
                self.notices.fetched(department_id, capability, result, path)
                records.extend(result.value.records)
        return records

    async def all_services(
        self, path: Path, department_ids: Iterable[str] | None = None
    ) -> list[ServiceRecord]:
        ids = department_ids if department_ids is not None else self.ids_with("catalog")
        return await self.gather(self.catalog, "catalog", ids, path)

    async def all_stations(self, path: Path) -> list[StationRecord]:
        return await self.gather(self.stations, "stations", self.ids_with("stations"), path)

    async def service_index(self, path: Path) -> dict[str, ServiceRecord]:
        if self._catalog_index is None:
            self._catalog_index = _shared(_index(self.all_services(path)))
        return await asyncio.shield(self._catalog_index)  # one caller cancelled cancels no other

    async def station_index(self, path: Path) -> dict[str, StationRecord]:
        if self._station_index is None:
            self._station_index = _shared(_index(self.all_stations(path)))
        return await asyncio.shield(self._station_index)

    def _now(self, loader: DataLoader[str, Result], capability: str, department_id: str) -> Result | None:
        """This request's answer for the department, if it can be had without awaiting."""
        key = (capability, department_id)
        known = self._known.get(key)
        if known is not None or loader.cache_map.get(department_id) is not None:
            return known  # the loader has it (or is getting it): it stays the one answer
        department = self.registry.get(department_id)
        found = None if department is None else department.adapter.run_now(capability)
        if found is not None:
            self._known[key] = found
        return found

    def ids_with(self, capability: str) -> list[str]:
        return [d.id for d in self.registry.with_capability(capability)]


async def _index(records: Awaitable[list[Any]]) -> dict[str, Any]:
    return {r.id: r for r in await records}


def _shared(index: Awaitable[dict[str, Any]]) -> asyncio.Task[dict[str, Any]]:
    """A task every caller awaits (shielded); its outcome is retrieved even if all of them went away."""
    task = asyncio.ensure_future(index)
    task.add_done_callback(retrieve)
    return task


async def _load(
    registry: Registry, capability: str, department_ids: Sequence[str]
) -> list[Result | BaseException]:
    """The batch function: every requested department at once, each failure kept as its own value."""

    async def one(department_id: str) -> Result:
        department = registry.get(department_id)
        if department is None:
            raise LookupError(department_id)
        return await department.adapter.run(capability)

    return await asyncio.gather(*(one(d) for d in department_ids), return_exceptions=True)
