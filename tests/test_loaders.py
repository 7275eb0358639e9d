"""Per-request loaders (resolvers/loaders.py): a warm public read is answered without scheduling
anything; a cold, stale or already-loading department still goes through the DataLoader."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from connectors import cache as cache_module
from connectors.cache import ResponseCache
from connectors.registry import Registry
from connectors.spec import parse_spec
from mocks.server import RunningMocks
from resolvers.loaders import Loaders
from resolvers.notices import Notices
from tests.conftest import SPECS

DEPARTMENTS = ["civil-affairs", "hrss", "health"]


@pytest_asyncio.fixture
async def registry(mocks: RunningMocks) -> AsyncIterator[Registry]:
    """Three real connectors over the mocks, sharing one in-memory cache."""
    registry = Registry(ResponseCache("memory://"))
    specs = [
        parse_spec((SPECS / f"{d}.yaml").read_text(encoding="utf-8"), {"ONESTOP_MOCKS_URL": mocks.url})
        for d in DEPARTMENTS
    ]
    registry.load([(spec, 1) for spec in specs])
    yield registry
    await registry.close()


def counted(loaders: Loaders) -> list[str]:
    """Every department handed to the catalogue DataLoader (each load is a future, and a batch task)."""
    asked: list[str] = []
    load: Callable[[str], Any] = loaders.catalog.load

    def spy(key: str) -> Any:
        asked.append(key)
        return load(key)

    loaders.catalog.load = spy  # type: ignore[method-assign]
    return asked


def cache_hits(registry: Registry) -> int:
    departments = [registry.get(d) for d in DEPARTMENTS]
    return sum(d.resilience.cache_hits for d in departments if d is not None)


async def test_a_warm_catalogue_schedules_no_batch(registry: Registry) -> None:
    cold = Loaders(registry, Notices())
    cold_asked = counted(cold)
    first = await cold.all_services((), DEPARTMENTS)
    assert cold_asked == DEPARTMENTS  # nothing cached yet: the loader asks all three at once

    warm = Loaders(registry, Notices())
    warm_asked = counted(warm)
    hits = cache_hits(registry)
    again = await warm.all_services((), DEPARTMENTS)
    assert warm_asked == []  # no load, no future, no batch task
    assert [r.id for r in again] == [r.id for r in first]
    assert cache_hits(registry) == hits + 3
    assert [(d, c) for d, c, _ in warm.notices.used] == [(d, "catalog") for d in DEPARTMENTS]
    assert not warm.notices.failures and not warm.notices.stale


async def test_what_the_loader_was_asked_stays_with_it(registry: Registry) -> None:
    """One answer per department per request: a department first loaded through the DataLoader is
    read from it again in the same request, even once the cache holds it."""
    loaders = Loaders(registry, Notices())
    asked = counted(loaders)
    await loaders.all_services((), DEPARTMENTS[:1])  # cold: through the loader, and now cached
    await Loaders(registry, Notices()).all_services((), DEPARTMENTS[1:])  # another request warms the rest
    await loaders.all_services((), DEPARTMENTS)
    assert asked == [DEPARTMENTS[0], DEPARTMENTS[0]]  # the other two were answered from memory
    assert loaders.catalog.cache_map.get(DEPARTMENTS[1]) is None


async def test_a_stale_entry_is_left_to_the_loader(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    await Loaders(registry, Notices()).all_services((), DEPARTMENTS)
    department = registry.get(DEPARTMENTS[0])
    assert department is not None
    ttl = department.spec.operations["catalog"].cache_ttl_s
    now = cache_module.wall_clock()
    monkeypatch.setattr(cache_module, "wall_clock", lambda: now + ttl + 1)
    loaders = Loaders(registry, Notices())
    asked = counted(loaders)
    await loaders.all_services((), DEPARTMENTS)
    assert asked == DEPARTMENTS  # past its freshness: every department is asked again


async def test_without_a_cache_every_read_goes_through_the_loader(mocks: RunningMocks) -> None:
    registry = Registry(ResponseCache("none://"))
    spec = parse_spec((SPECS / "hrss.yaml").read_text(encoding="utf-8"), {"ONESTOP_MOCKS_URL": mocks.url})
    registry.load([(spec, 1)])
    try:
        for _ in range(2):
            loaders = Loaders(registry, Notices())
            asked = counted(loaders)
            assert await loaders.all_services((), ["hrss"])
            assert asked == ["hrss"]
    finally:
        await registry.close()
