"""The one policy layer around every upstream call of a department.

``call`` bounds an exchange in time (deadline per call, timeout per attempt), retries idempotent calls
with full-jitter backoff, stops calling a failing department (circuit breaker) and caps how many
requests are in flight to it (bulkhead). ``cached`` puts the response cache and single-flight in front
of a whole operation, and serves stale public data when the department fails.

It knows nothing of HTTP or formats: an *attempt* is any coroutine taking the seconds it may use.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import TypeAdapter

from connectors.breaker import CircuitBreaker
from connectors.cache import Entry, ResponseCache
from connectors.errors import UpstreamCode, UpstreamError
from connectors.singleflight import SingleFlight
from connectors.spec import Policy

T = TypeVar("T")

# Loop time by which the current call must be done; set by ``cached``/``call``, read by attempts.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("upstream_deadline", default=None)

# Loop time by which the whole request must have its answers from every department it asks; set once
# per request (``request_deadline``, from the schema), read by every call the request makes. Without
# it a hanging department cost the request its whole ``deadline_s`` per operation, retries included
# (p99 8.2 s with a 3 s attempt timeout, issue 14): with it, no upstream call outlives the request.
_request_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "request_deadline", default=None
)


@contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Every upstream call made inside (and in tasks started inside) ends within ``seconds`` from now."""
    token = _request_deadline.set(asyncio.get_running_loop().time() + seconds)
    try:
        yield
    finally:
        _request_deadline.reset(token)


def _bounded(loop: asyncio.AbstractEventLoop, seconds: float) -> tuple[float, bool]:
    """The loop time ``seconds`` from now, or the request's deadline if sooner (and whether it was)."""
    own = loop.time() + seconds
    request = _request_deadline.get()
    if request is not None and request < own:
        return request, True
    return own, False


# The operation (``catalog``, ``facts``, ...) being fetched; set by the adapter, read by observers.
OPERATION: contextvars.ContextVar[str] = contextvars.ContextVar("upstream_operation", default="")


class UpstreamObserver(Protocol):
    """Told of every upstream attempt (metrics, traces, debug logs); plain strings, no GraphQL.

    ``attempt`` wraps one exchange: its exit sees the ``UpstreamError`` (or success) and the time taken.
    ``refused`` is a call that never left: breaker open or bulkhead full.
    """

    def attempt(self, department: str, operation: str) -> AbstractContextManager[object]: ...

    def refused(self, department: str, operation: str, code: str) -> None: ...


# Failures that say nothing about the department's health.
_NOT_COUNTED = frozenset({UpstreamCode.CIRCUIT_OPEN, UpstreamCode.OVERLOADED})


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """An operation's value and how it was obtained, so responses can say what is stale."""

    value: T
    from_cache: bool = False
    stale: bool = False
    age_s: float = 0.0
    error: UpstreamError | None = None


@dataclass(frozen=True, slots=True)
class CachePolicy:
    ttl_s: float
    stale_ttl_s: float
    public: bool


class Resilience:
    def __init__(
        self,
        department: str,
        policy: Policy,
        cache: ResponseCache,
        rng: random.Random | None = None,
        observer: UpstreamObserver | None = None,
    ) -> None:
        self.department = department
        self.observer = observer
        self.policy = policy
        self.cache = cache
        self.breaker = CircuitBreaker(policy.breaker_failures, policy.breaker_reset_s)
        self._bulkhead = asyncio.Semaphore(policy.concurrency)
        self._in_flight = 0
        self._flights = SingleFlight()
        self._rng = rng or random.Random()
        self.upstream_calls = 0
        # read by the metrics collector at scrape time (no per-call cost beyond an increment)
        self.cache_hits = 0
        self.cache_misses = 0
        # what /readyz tells operators: when the department last answered, and how it last failed
        self.last_success_at: float | None = None
        self.last_failure: tuple[float, str] | None = None

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # -- one exchange ------------------------------------------------------------------------------

    async def call(self, attempt: Callable[[float], Awaitable[T]], idempotent: bool = True) -> T:
        """Run ``attempt(timeout)`` under the breaker, the bulkhead, the deadline and the retry policy."""
        loop = asyncio.get_running_loop()
        deadline = _deadline.get() or _bounded(loop, self.policy.deadline_s)[0]
        tries = 1 + (self.policy.retries if idempotent else 0)
        for number in range(tries):
            try:
                return await self._attempt(attempt, deadline)
            except UpstreamError as error:
                last = number == tries - 1
                if last or not error.retryable:
                    raise
                delay = self._rng.uniform(0, self.policy.backoff_s * 2**number)
                if loop.time() + delay >= deadline:
                    raise
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(self, attempt: Callable[[float], Awaitable[T]], deadline: float) -> T:
        loop = asyncio.get_running_loop()
        if deadline - loop.time() <= 0:
            raise UpstreamError(UpstreamCode.TIMEOUT, self.department, "deadline passed before the call")
        if not self.breaker.allow():
            raise self._refused(
                UpstreamError(
                    UpstreamCode.CIRCUIT_OPEN,
                    self.department,
                    f"department failing; calls paused for {self.breaker.retry_after():.0f}s",
                )
            )
        settled = False
        try:
            await self._acquire(deadline - loop.time())
            try:
                self._in_flight += 1
                self.upstream_calls += 1
                result = await self._observed(
                    attempt, max(0.001, min(self.policy.timeout_s, deadline - loop.time()))
                )
            finally:
                self._in_flight -= 1
                self._bulkhead.release()
        except UpstreamError as error:
            if error.code not in _NOT_COUNTED:
                self.breaker.record_failure()
                self.last_failure = (time.time(), error.code.value)
                settled = True
            elif error.code is UpstreamCode.OVERLOADED:
                self._refused(error)
            raise
        else:
            self.breaker.record_success()
            self.last_success_at = time.time()
            settled = True
            return result
        finally:
            if not settled:  # cancelled, or never sent: a half-open probe slot must not stay taken
                self.breaker.abandon_probe()

    async def _observed(self, attempt: Callable[[float], Awaitable[T]], timeout: float) -> T:
        if self.observer is None:
            return await attempt(timeout)
        with self.observer.attempt(self.department, OPERATION.get()):
            return await attempt(timeout)

    def _refused(self, error: UpstreamError) -> UpstreamError:
        if self.observer is not None:
            self.observer.refused(self.department, OPERATION.get(), error.code.value)
        return error

    async def _acquire(self, remaining: float) -> None:
        try:
            async with asyncio.timeout(remaining):
                await self._bulkhead.acquire()
        except TimeoutError as exc:
            raise UpstreamError(
                UpstreamCode.OVERLOADED, self.department, f"{self.policy.concurrency} calls already in flight"
            ) from exc

    # -- a whole cached operation ------------------------------------------------------------------

    async def cached(
        self,
        key: str,
        policy: CachePolicy,
        adapter: TypeAdapter[Entry[T]],
        load: Callable[[], Awaitable[T]],
    ) -> Fetched[T]:
        entry = await self.cache.get(key, adapter, _local_fresh_s(policy))
        if entry is not None and entry.age() < policy.ttl_s:
            self.cache_hits += 1
            return Fetched(entry.value, from_cache=True, age_s=entry.age())
        if self.cache.enabled:
            self.cache_misses += 1
        try:
            value = await self._shared(key, lambda: self._load_and_store(key, policy, adapter, load))
        except UpstreamError as error:
            if entry is not None and policy.public and entry.age() < policy.stale_ttl_s:
                return Fetched(entry.value, from_cache=True, stale=True, age_s=entry.age(), error=error)
            raise
        return Fetched(value)

    def cached_now(self, key: str, policy: CachePolicy) -> Fetched[Any] | None:
        """``cached``'s fresh hit when the entry is already in process memory, without awaiting (no
        task, no future: most warm public reads); None when ``cached`` must run."""
        entry = self.cache.peek(key, _local_fresh_s(policy))
        if entry is None:
            return None
        age = entry.age()
        if age >= policy.ttl_s:
            return None
        self.cache_hits += 1
        self.cache.hits += 1
        return Fetched(entry.value, from_cache=True, age_s=age)

    async def _shared(self, key: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Join (or start) the single flight for ``key``, waiting no longer than this request may: the
        flight itself runs to its starter's deadline and fills the cache for whoever asks next."""
        request = _request_deadline.get()
        if request is None:
            return await self._flights.do(key, work)
        try:
            async with asyncio.timeout_at(request):
                return await self._flights.do(key, work)
        except TimeoutError as exc:
            raise self._timed_out(True) from exc

    async def deadline(self, load: Callable[[], Awaitable[T]]) -> T:
        """Run a whole operation (all its pages and retries) within the department's deadline, and
        within the request's when that comes sooner."""
        until, by_request = _bounded(asyncio.get_running_loop(), self.policy.deadline_s)
        token = _deadline.set(until)
        try:
            async with asyncio.timeout_at(until):
                return await load()
        except TimeoutError as exc:
            raise self._timed_out(by_request) from exc
        finally:
            _deadline.reset(token)

    def _timed_out(self, by_request: bool) -> UpstreamError:
        if by_request:
            return UpstreamError(
                UpstreamCode.TIMEOUT, self.department, "no answer within the request's deadline"
            )
        message = f"no complete answer within {self.policy.deadline_s:.1f}s"
        return UpstreamError(UpstreamCode.TIMEOUT, self.department, message)

    async def _load_and_store(
        self,
        key: str,
        policy: CachePolicy,
        adapter: TypeAdapter[Entry[T]],
        load: Callable[[], Awaitable[T]],
    ) -> T:
        value = await self.deadline(load)
        keep = max(policy.ttl_s, policy.stale_ttl_s if policy.public else 0.0)
        await self.cache.set(key, Entry(value, time.time()), keep, adapter, _local_fresh_s(policy))
        return value


def _local_fresh_s(policy: CachePolicy) -> float | None:
    """Public data may sit in the cache's first level in process memory while fresh; personal never."""
    return policy.ttl_s if policy.public else None
