"""The response cache's first level in process memory, in front of a shared Redis.

Redis GETs are counted by wrapping the cache's backend; every test uses the real Redis (``redis_url``)
under the run's own namespace.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio as redis
from pydantic import TypeAdapter

from bench.home import HOME
from connectors import cache as cache_module
from connectors.cache import Entry, ResponseCache
from connectors.errors import UpstreamCode, UpstreamError
from connectors.local_cache import LocalCache
from connectors.resilience import CachePolicy, Resilience
from connectors.spec import Policy
from tests.access_support import WORLD, ask, resident_gateway, resident_token
from tests.conftest import TEST_NAMESPACE, GatewayFactory
from tests.waiting import ahead

ADAPTER: TypeAdapter[Entry[str]] = TypeAdapter(Entry[str])
PUBLIC = CachePolicy(ttl_s=60, stale_ttl_s=600, public=True)
PERSONAL = CachePolicy(ttl_s=60, stale_ttl_s=0, public=False)
SERVICES = "{ services(first: 500) { totalCount } }"

Caches = Callable[..., ResponseCache]


@pytest_asyncio.fixture
async def caches(redis_url: str) -> AsyncIterator[Caches]:
    """``caches(**options)``: a new ResponseCache on the test Redis (local level on unless told)."""
    made: list[ResponseCache] = []

    def make(**options: Any) -> ResponseCache:
        cache = ResponseCache(redis_url, TEST_NAMESPACE, **({"local_ttl_s": 30.0} | options))
        made.append(cache)
        return cache

    yield make
    for cache in made:
        await cache.clear()
        await cache.close()


def count_gets(cache: ResponseCache) -> list[str]:
    """The keys this cache asks Redis for from now on."""
    asked: list[str] = []
    original = cache.backend.get

    async def get(key: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(key)
        return await original(key, *args, **kwargs)

    cache.backend.get = get
    return asked


def layer(cache: ResponseCache) -> Resilience:
    policy = {"timeout_s": 0.5, "deadline_s": 2.0, "retries": 0, "backoff_s": 0.001}
    return Resilience("demo", Policy.model_validate(policy), cache)


class Loads:
    """A load that returns "v1", "v2", ... or raises once ``failing`` is set; counts its calls."""

    def __init__(self) -> None:
        self.count = 0
        self.failing = False

    async def __call__(self) -> str:
        if self.failing:
            raise UpstreamError(UpstreamCode.UNAVAILABLE, "demo", "down")
        self.count += 1
        return f"v{self.count}"


# -- the first level in front of Redis -----------------------------------------------------------


async def test_a_second_read_within_the_local_ttl_does_not_touch_redis(caches: Caches) -> None:
    writer, reader = caches(local_ttl_s=0), caches()
    await writer.set("demo:fp:catalog", Entry("v1", time.time()), 60, ADAPTER)
    asked = count_gets(reader)
    first = await reader.get("demo:fp:catalog", ADAPTER, fresh_s=60)
    second = await reader.get("demo:fp:catalog", ADAPTER, fresh_s=60)
    assert first is not None and second is first  # the decoded object itself: not decoded again
    assert len(asked) == 1


async def test_a_cached_public_operation_is_served_without_redis(caches: Caches) -> None:
    cache = caches()
    asked, load = count_gets(cache), Loads()
    resilience = layer(cache)
    assert (await resilience.cached("demo:fp:catalog", PUBLIC, ADAPTER, load)).value == "v1"
    assert len(asked) == 1  # the miss
    again = await resilience.cached("demo:fp:catalog", PUBLIC, ADAPTER, load)
    assert (again.value, again.from_cache, load.count, len(asked)) == ("v1", True, 1, 1)


async def test_readers_missing_locally_at_once_share_one_redis_read(caches: Caches) -> None:
    writer, reader = caches(local_ttl_s=0), caches()
    await writer.set("demo:fp:stations", Entry("v1", time.time()), 60, ADAPTER)
    asked = count_gets(reader)
    entries = await asyncio.gather(*(reader.get("demo:fp:stations", ADAPTER, fresh_s=60) for _ in range(10)))
    assert {e.value for e in entries if e is not None} == {"v1"} and len(entries) == 10
    assert len(asked) == 1


async def test_an_entry_expires_locally_then_the_shared_one_is_read(caches: Caches) -> None:
    now = [0.0]
    writer, reader = caches(local_ttl_s=0), caches()
    reader.local = LocalCache(ttl_s=0.05, clock=lambda: now[0])
    await writer.set("demo:fp:catalog", Entry("v1", time.time()), 60, ADAPTER)
    asked = count_gets(reader)
    assert (await reader.get("demo:fp:catalog", ADAPTER, fresh_s=60) or Entry("", 0)).value == "v1"
    await writer.set("demo:fp:catalog", Entry("v2", time.time()), 60, ADAPTER)  # another process refreshed
    now[0] = 0.049
    assert (await reader.get("demo:fp:catalog", ADAPTER, fresh_s=60) or Entry("", 0)).value == "v1"
    now[0] = 0.05  # the local TTL has passed
    entry = await reader.get("demo:fp:catalog", ADAPTER, fresh_s=60)
    assert entry is not None and entry.value == "v2" and len(asked) == 2


async def test_the_local_level_is_bounded_least_recently_used_first_out(caches: Caches) -> None:
    writer, reader = caches(local_ttl_s=0), caches(local_max_entries=2)
    for key in ("a", "b", "c"):
        await writer.set(key, Entry(key, time.time()), 60, ADAPTER)
    asked = count_gets(reader)
    for key in ("a", "b", "a", "c"):  # "a" used again after "b": "b" is the one to go
        await reader.get(key, ADAPTER, fresh_s=60)
    assert asked == [f"{TEST_NAMESPACE}:{k}" for k in ("a", "b", "c")]
    assert reader.local is not None and len(reader.local) == 2 and reader.local.evictions == 1
    for key in ("a", "c", "b"):
        await reader.get(key, ADAPTER, fresh_s=60)
    assert asked[3:] == [f"{TEST_NAMESPACE}:b"]


async def test_clear_department_clears_both_levels_on_each_process(caches: Caches) -> None:
    first, second = caches(), caches()
    keys = ("archives:fp:catalog", "archives-east:fp:catalog", "commerce:fp:stations")
    for key in keys:
        await first.set(key, Entry(key, time.time()), 60, ADAPTER, fresh_s=60)
        assert await second.get(key, ADAPTER, fresh_s=60) is not None  # now in both local levels
    await first.clear_department("archives")  # what a reload does on the first process
    asked = count_gets(first)
    assert await first.get("archives:fp:catalog", ADAPTER, fresh_s=60) is None
    assert asked == [f"{TEST_NAMESPACE}:archives:fp:catalog"]  # not in memory: Redis asked, and empty
    for key in keys[1:]:  # another department whose name starts alike, and another one, are kept
        assert (await first.get(key, ADAPTER, fresh_s=60)) is not None
    assert len(asked) == 1
    # the second process's reload (hot reload runs on every process) clears its own local level
    assert second.local is not None and second.local.get("archives:fp:catalog") is not None
    await second.clear_department("archives")
    assert second.local.get("archives:fp:catalog") is None
    assert await second.get("archives:fp:catalog", ADAPTER, fresh_s=60) is None
    assert await second.get("commerce:fp:stations", ADAPTER, fresh_s=60) is not None


async def test_clear_and_delete_clear_the_local_level(caches: Caches) -> None:
    cache = caches()
    for key in ("demo:fp:catalog", "demo:fp:stations"):
        await cache.set(key, Entry(key, time.time()), 60, ADAPTER, fresh_s=60)
    await cache.delete("demo:fp:stations")
    assert await cache.get("demo:fp:stations", ADAPTER, fresh_s=60) is None
    assert await cache.get("demo:fp:catalog", ADAPTER, fresh_s=60) is not None
    await cache.clear()
    assert await cache.get("demo:fp:catalog", ADAPTER, fresh_s=60) is None


async def test_a_read_across_a_clear_does_not_put_back_what_was_cleared(caches: Caches) -> None:
    cache = caches()
    await cache.set("archives:fp:catalog", Entry("old", time.time()), 60, ADAPTER)
    original = cache.backend.get

    async def get_then_reload_elsewhere(key: str, *args: Any, **kwargs: Any) -> Any:
        raw = await original(key, *args, **kwargs)  # read before the reload ...
        assert cache.local is not None
        cache.local.clear_prefix("archives:")  # ... which clears while the read is on its way
        return raw

    cache.backend.get = get_then_reload_elsewhere
    assert await cache.get("archives:fp:catalog", ADAPTER, fresh_s=60) is not None
    assert cache.local is not None and cache.local.get("archives:fp:catalog") is None


# -- what is kept, and for how long ----------------------------------------------------------------


async def test_personal_operations_never_land_in_the_local_level(caches: Caches) -> None:
    cache = caches()
    asked, load = count_gets(cache), Loads()
    resilience = layer(cache)
    for _ in range(2):
        await resilience.cached("demo:fp:facts:digest", PERSONAL, ADAPTER, load)
    await cache.set("demo:fp:cases:digest", Entry("case", time.time()), 60, ADAPTER)  # as the adapter does
    await cache.get("demo:fp:cases:digest", ADAPTER)
    assert cache.local is not None and len(cache.local) == 0
    assert len(asked) == 3 and load.count == 1  # every read went to Redis; the second one was a hit


async def test_the_home_screen_keeps_only_public_entries_in_memory(
    make_gateway: GatewayFactory, redis_url: str
) -> None:
    gateway = await resident_gateway(make_gateway, cache_url=redis_url)
    cache: ResponseCache = gateway.services.cache
    resident = WORLD.residents[0]
    body = await ask(gateway, resident_token(resident), HOME)
    assert body["data"]["me"]["profile"], body
    assert cache.local is not None and len(cache.local) > 0
    kept = list(cache.local._entries)
    assert all(k.endswith((":catalog", ":stations")) for k in kept), kept
    client = redis.from_url(redis_url)
    try:  # the personal entries are cached, in Redis only
        stored = [k.decode() for k in await client.keys(f"{TEST_NAMESPACE}:*")]
    finally:
        await client.aclose()
    assert any(":facts:" in k for k in stored) and any(":cases:" in k for k in stored), stored


async def test_a_warm_catalogue_on_redis_asks_redis_nothing(
    make_gateway: GatewayFactory, redis_url: str
) -> None:
    gateway = await make_gateway(cache_url=redis_url)
    first = await ask(gateway, None, SERVICES)
    asked = count_gets(gateway.services.cache)
    assert await ask(gateway, None, SERVICES) == first
    assert asked == []


async def test_the_setting_turns_it_off_and_memory_never_has_it(
    make_gateway: GatewayFactory, redis_url: str
) -> None:
    assert (await make_gateway(cache_url=redis_url)).services.cache.local.ttl_s == 5.0  # the default
    off = await make_gateway(cache_url=redis_url, cache_local_ttl_s=0)
    assert off.services.cache.local is None
    assert ResponseCache("memory://", local_ttl_s=5).local is None  # entries are in memory already
    assert ResponseCache("none://", local_ttl_s=5).local is None


def test_an_entry_is_kept_no_longer_than_it_is_fresh() -> None:
    now = [0.0]
    local = LocalCache(ttl_s=30, clock=lambda: now[0])
    local.put("fetched-50s-ago", Entry("v", time.time() - 50), fresh_s=60)  # fresh for 10 s more
    local.put("already-stale", Entry("v", time.time() - 61), fresh_s=60)
    local.put("new", Entry("v", time.time()), fresh_s=60)
    assert local.get("already-stale") is None
    now[0] = 5
    assert local.get("fetched-50s-ago") is not None
    now[0] = 10.01
    assert local.get("fetched-50s-ago") is None and local.get("new") is not None
    now[0] = 30.01
    assert local.get("new") is None  # the local TTL, shorter than its freshness


async def test_a_set_is_kept_no_longer_than_its_ttl_in_the_shared_cache(caches: Caches) -> None:
    now = [0.0]
    cache = caches()
    cache.local = LocalCache(ttl_s=30, clock=lambda: now[0])
    await cache.set("demo:fp:catalog", Entry("v", time.time()), 2, ADAPTER, fresh_s=60)
    now[0] = 2.01
    assert cache.local.get("demo:fp:catalog") is None


async def test_stale_on_error_reports_the_age_of_the_fetch(
    caches: Caches, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_now = [0.0]
    cache = caches()
    cache.local = LocalCache(ttl_s=30, clock=lambda: local_now[0])
    asked, load = count_gets(cache), Loads()
    resilience = layer(cache)
    short = CachePolicy(ttl_s=0.3, stale_ttl_s=600, public=True)
    await resilience.cached("demo:fp:catalog", short, ADAPTER, load)
    fetched_at = time.time()
    # half a second on: past its freshness, well within the local TTL of 30 s
    monkeypatch.setattr(cache_module, "wall_clock", ahead(time.time, 0.5))
    local_now[0] = 0.5
    load.failing = True
    stale = await resilience.cached("demo:fp:catalog", short, ADAPTER, load)
    assert stale.stale and stale.value == "v1" and stale.error is not None
    assert stale.age_s >= 0.5 and stale.age_s == pytest.approx(time.time() + 0.5 - fetched_at, abs=0.5)
    assert len(asked) == 2  # the stale entry came from Redis: the local level only serves fresh ones
