"""The policy layer on its own: breaker, retries, deadline, bulkhead, single-flight, cache, stale."""

from __future__ import annotations

import asyncio
import random

import pytest
from pydantic import TypeAdapter

from connectors.breaker import BreakerState, CircuitBreaker
from connectors.cache import Entry, ResponseCache
from connectors.errors import UpstreamCode, UpstreamError
from connectors.resilience import CachePolicy, Resilience
from connectors.singleflight import SingleFlight
from connectors.spec import Policy
from tests.conftest import TEST_NAMESPACE
from tests.waiting import until

ADAPTER: TypeAdapter[Entry[str]] = TypeAdapter(Entry[str])


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def failure(code: UpstreamCode = UpstreamCode.UNAVAILABLE) -> UpstreamError:
    return UpstreamError(code, "demo", "boom")


def resilience(cache: ResponseCache | None = None, **policy: float) -> Resilience:
    values = {
        "timeout_s": 0.5,
        "deadline_s": 2.0,
        "retries": 2,
        "backoff_s": 0.001,
        "breaker_failures": 3,
        "breaker_reset_s": 60,
        "concurrency": 4,
    } | policy
    return Resilience(
        "demo", Policy.model_validate(values), cache or ResponseCache("none://"), random.Random(1)
    )


class Attempts:
    """An attempt that fails with the given errors in turn, then succeeds; counts its calls."""

    def __init__(self, *errors: UpstreamError, delay: float = 0.0) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.delay = delay
        self.timeouts: list[float] = []

    async def __call__(self, timeout: float) -> str:
        self.calls += 1
        self.timeouts.append(timeout)
        await asyncio.sleep(self.delay)  # the simulated department's latency: part of what is tested
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


# -- breaker -------------------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=2, reset_s=10, clock=clock)
    breaker.record_failure()
    breaker.record_success()  # a success resets the count
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.retry_after() == 10
    clock.now = 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow() and not breaker.allow()  # one probe only
    breaker.record_failure()  # the probe failed: open again for a full period
    assert breaker.state is BreakerState.OPEN and breaker.retry_after() == 10
    clock.now = 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()


def test_an_abandoned_probe_lets_another_caller_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, reset_s=1, clock=clock)
    breaker.record_failure()
    clock.now = 1
    assert breaker.allow() and not breaker.allow()
    breaker.abandon_probe()
    assert breaker.allow()


# -- retries, deadline, bulkhead -----------------------------------------------------------------


async def test_retryable_failures_are_retried_up_to_the_limit() -> None:
    attempts = Attempts(failure(), failure(UpstreamCode.TIMEOUT))
    assert await resilience().call(attempts) == "ok"
    assert attempts.calls == 3
    attempts = Attempts(failure(), failure(), failure())
    with pytest.raises(UpstreamError):
        await resilience(breaker_failures=10).call(attempts)
    assert attempts.calls == 3


@pytest.mark.parametrize("code", [UpstreamCode.BAD_RESPONSE, UpstreamCode.AUTH_FAILED])
async def test_failures_a_retry_cannot_fix_are_not_retried(code: UpstreamCode) -> None:
    attempts = Attempts(failure(code))
    with pytest.raises(UpstreamError) as caught:
        await resilience().call(attempts)
    assert caught.value.code is code and attempts.calls == 1


async def test_non_idempotent_calls_are_never_retried() -> None:
    attempts = Attempts(failure())
    with pytest.raises(UpstreamError):
        await resilience().call(attempts, idempotent=False)
    assert attempts.calls == 1


async def test_attempts_get_no_more_than_the_time_left() -> None:
    attempts = Attempts()
    await resilience(timeout_s=5, deadline_s=0.2).call(attempts)
    assert attempts.timeouts[0] <= 0.2


async def test_breaker_open_means_no_call_at_all() -> None:
    layer = resilience(breaker_failures=2, retries=0)
    for _ in range(2):
        with pytest.raises(UpstreamError):
            await layer.call(Attempts(failure()))
    attempts = Attempts()
    with pytest.raises(UpstreamError) as caught:
        await layer.call(attempts)
    assert caught.value.code is UpstreamCode.CIRCUIT_OPEN and attempts.calls == 0


async def test_bulkhead_caps_calls_in_flight() -> None:
    layer = resilience(concurrency=2, deadline_s=0.3, retries=0)
    slow = Attempts(delay=1.0)
    running = [asyncio.create_task(layer.call(slow)) for _ in range(2)]
    await until(lambda: layer.in_flight == 2)
    with pytest.raises(UpstreamError) as caught:
        await layer.call(Attempts())
    assert caught.value.code is UpstreamCode.OVERLOADED
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    assert layer.in_flight == 0
    assert layer.breaker.state is BreakerState.CLOSED  # overload says nothing about the department


# -- single-flight -------------------------------------------------------------------------------


async def test_single_flight_shares_one_call_and_its_error() -> None:
    flights = SingleFlight()
    calls = 0

    async def work() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)  # the shared call's own duration: the other callers arrive during it
        return 42

    assert await asyncio.gather(*(flights.do("k", work) for _ in range(10))) == [42] * 10
    assert calls == 1 and flights.in_flight() == 0

    async def broken() -> int:
        await asyncio.sleep(0.01)  # the shared call's own duration: the other callers arrive during it
        raise failure()

    results = await asyncio.gather(*(flights.do("k", broken) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, UpstreamError) for r in results)


async def test_a_waiter_giving_up_does_not_cancel_the_others() -> None:
    flights = SingleFlight()

    finish = asyncio.Event()

    async def work() -> str:
        await finish.wait()
        return "done"

    first = asyncio.create_task(flights.do("k", work))
    second = asyncio.create_task(flights.do("k", work))
    await until(lambda: flights.in_flight() == 1)  # both have joined the one flight
    first.cancel()
    finish.set()
    assert await second == "done"


# -- cache and stale -----------------------------------------------------------------------------


async def test_fresh_cache_hit_does_not_load() -> None:
    layer = resilience(ResponseCache("memory://"))
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        return "value"

    policy = CachePolicy(ttl_s=60, stale_ttl_s=600, public=True)
    first = await layer.cached("k", policy, ADAPTER, load)
    second = await layer.cached("k", policy, ADAPTER, load)
    assert (first.from_cache, second.from_cache, second.value, loads) == (False, True, "value", 1)


@pytest.mark.parametrize("public", [True, False])
async def test_stale_is_served_on_failure_for_public_data_only(public: bool) -> None:
    cache = ResponseCache("memory://")
    await cache.set("k", Entry("old", 0.0), 10_000, ADAPTER)  # stored long ago: past its TTL

    async def load() -> str:
        raise failure()

    layer = resilience(cache, retries=0)
    policy = CachePolicy(ttl_s=1, stale_ttl_s=10**12, public=public)
    if public:
        fetched = await layer.cached("k", policy, ADAPTER, load)
        assert fetched.stale and fetched.value == "old" and fetched.error is not None
    else:
        with pytest.raises(UpstreamError):
            await layer.cached("k", policy, ADAPTER, load)


async def test_a_cache_outage_is_a_miss_not_a_failure() -> None:
    cache = ResponseCache("redis://127.0.0.1:1/0")  # nothing listens there
    assert await cache.get("k", ADAPTER) is None
    await cache.set("k", Entry("v", 0.0), 10, ADAPTER)
    assert cache.errors == 2
    await cache.close()


async def test_redis_cache_round_trips_and_is_shared(redis_url: str) -> None:
    writer, reader = ResponseCache(redis_url, TEST_NAMESPACE), ResponseCache(redis_url, TEST_NAMESPACE)
    try:
        await writer.set("shared", Entry("值", 123.0), 30, ADAPTER)
        entry = await reader.get("shared", ADAPTER)
        assert entry == Entry("值", 123.0)
        await writer.backend.set(f"{TEST_NAMESPACE}:tampered", b"not json", ttl=30)
        assert await reader.get("tampered", ADAPTER) is None and reader.errors == 1
        await writer.clear()
        assert await reader.get("shared", ADAPTER) is None
    finally:
        await writer.close()
        await reader.close()
