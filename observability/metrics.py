"""Prometheus metrics of one gateway, all named ``onestop_*``, in a registry of the app's own.

Two kinds, by cost. Per event (a request, an upstream attempt) a counter and a histogram are updated:
that is what only the moment knows (latency, outcome). Everything the gateway already keeps as state —
breaker states, cache hits and misses per department, calls in flight, the in-flight limit — is read by
``StateCollector`` when Prometheus scrapes, so it costs nothing per request.

Label values that clients choose (operation names) are bounded: at most ``MAX_OPERATIONS`` names are
tracked, later ones count as ``other``, so no client can grow the registry without end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from connectors.breaker import BreakerState
from connectors.registry import Registry
from observability.redaction import safe_name

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_OPERATIONS = 200
ANONYMOUS = "anonymous"
OTHER = "other"


class OperationNames:
    """Turns a client's operation name into a bounded label value."""

    def __init__(self, limit: int = MAX_OPERATIONS) -> None:
        self.limit = limit
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if name is None:
            return ANONYMOUS
        if name in self._known:
            return name
        if safe_name(name) is None:
            return OTHER
        with self._lock:
            if len(self._known) >= self.limit:
                return OTHER
            self._known.add(name)
        return name


class Metrics:
    """The per-event metrics; ``watch`` adds the scrape-time ones."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.operations = OperationNames()
        self._request_series: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        r = self.registry
        self.requests = Counter(
            "onestop_requests",
            "GraphQL requests by operation name, type (query, mutation, subscription) and outcome "
            "(ok, partial, error, rejected, rate_limited, overloaded, failed)",
            ["operation", "type", "outcome"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "onestop_request_duration_seconds",
            "Time from the first byte of a GraphQL request to the end of its response, by operation",
            ["operation", "type"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.graphql_errors = Counter(
            "onestop_graphql_errors",
            "Errors in GraphQL responses by extensions.code and department ('' when none)",
            ["code", "department"],
            registry=r,
        )
        self.upstream_calls = Counter(
            "onestop_upstream_calls",
            "Requests sent to departments (each attempt, retries included) by department and operation",
            ["department", "operation"],
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "onestop_upstream_duration_seconds",
            "Time of one attempt at a department, sign-in included, by department and operation",
            ["department", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "onestop_upstream_errors",
            "Failed or refused upstream attempts by department, operation and code (UPSTREAM_*)",
            ["department", "operation", "code"],
            registry=r,
        )

    def request(self, operation: str | None, kind: str, outcome: str, seconds: float) -> None:
        key = (self.operations.label(operation), kind, outcome)
        series = self._request_series.get(key)
        if series is None:  # labels() takes a lock and builds its key: once per combination, not per request
            series = (self.requests.labels(*key), self.request_seconds.labels(key[0], kind))
            self._request_series[key] = series
        series[0].inc()
        series[1].observe(seconds)

    def errors(self, codes: list[tuple[str, str]]) -> None:
        for code, department in codes:
            self.graphql_errors.labels(code, department).inc()

    def watch(self, source: StateSource) -> None:
        self.registry.register(StateCollector(source))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class StateSource:
    """Where the scrape-time figures come from: the live registry, the cache, the in-flight limiter."""

    def __init__(
        self,
        registry: Callable[[], Registry | None],
        cache_errors: Callable[[], int],
        inflight: Callable[[], Any],
        own_in_flight: Callable[[], int],
        rate_limits: Callable[[], Any] = lambda: None,
        response_cache: Callable[[], Any] = lambda: None,
    ) -> None:
        self.registry = registry
        self.cache_errors = cache_errors
        self.inflight = inflight
        self.own_in_flight = own_in_flight
        self.rate_limits = rate_limits
        self.response_cache = response_cache  # schema.response_cache.ResponseCache, None when off


class StateCollector(Collector):
    """Reads the gateway's own state when Prometheus scrapes; nothing is kept between scrapes."""

    def __init__(self, source: StateSource) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self._departments()
        yield from self._in_flight()
        yield from self._rate_limited()
        yield from self._responses()
        errors = CounterMetricFamily(
            "onestop_cache_errors", "Cache backend failures (each treated as a miss)", labels=[]
        )
        errors.add_metric([], self.source.cache_errors())
        yield errors

    def _departments(self) -> Iterator[Metric]:
        breaker = GaugeMetricFamily(
            "onestop_breaker_state",
            "Circuit breaker of each department: 1 for its current state (CLOSED, OPEN, HALF_OPEN)",
            labels=["department", "state"],
        )
        hits = CounterMetricFamily(
            "onestop_cache_hits", "Department answers served from the cache", labels=["department"]
        )
        misses = CounterMetricFamily(
            "onestop_cache_misses",
            "Department answers not (or no longer fresh) in the cache",
            labels=["department"],
        )
        upstream = GaugeMetricFamily(
            "onestop_upstream_in_flight", "Requests to each department in flight now", labels=["department"]
        )
        registry = self.source.registry()
        for department in registry.all() if registry is not None else ():
            layer = department.resilience
            state = layer.breaker.state
            for candidate in BreakerState:
                breaker.add_metric([department.id, candidate.value], 1.0 if candidate is state else 0.0)
            hits.add_metric([department.id], layer.cache_hits)
            misses.add_metric([department.id], layer.cache_misses)
            upstream.add_metric([department.id], layer.in_flight)
        yield from (breaker, hits, misses, upstream)

    def _in_flight(self) -> Iterator[Metric]:
        limiter = self.source.inflight()
        current = getattr(limiter, "current", None)
        in_flight = GaugeMetricFamily("onestop_requests_in_flight", "GraphQL requests being served now")
        in_flight.add_metric([], current if current is not None else self.source.own_in_flight())
        yield in_flight
        limit = getattr(limiter, "limit", None)
        if limit is not None:
            yield GaugeMetricFamily(
                "onestop_requests_in_flight_limit",
                "Requests one process serves at once; past it 503 at once",
                value=limit,
            )
        refused = _first_number(limiter, ("refused", "refusals", "rejected"))
        if refused is not None:
            counter = CounterMetricFamily(
                "onestop_requests_refused_overload", "Requests answered 503 because too many were in flight"
            )
            counter.add_metric([], refused)
            yield counter

    def _responses(self) -> Iterator[Metric]:
        yield from _response_cache(self.source.response_cache())

    def _rate_limited(self) -> Iterator[Metric]:
        refused = getattr(self.source.rate_limits(), "refused", None)
        if not isinstance(refused, Mapping):
            return
        counter = CounterMetricFamily(
            "onestop_requests_refused_rate_limit",
            "Requests answered 429 by the rate limits, by the limit that refused them (client, channel)",
            labels=["scope"],
        )
        for scope, count in sorted(refused.items()):
            counter.add_metric([str(scope)], count)
        yield counter


_RESPONSE_COUNTERS = (
    ("hits", "onestop_response_cache_hits", "Whole answers served from the response cache"),
    (
        "misses",
        "onestop_response_cache_misses",
        "Public documents looked up in the response cache and not found (or no longer fresh)",
    ),
    ("stored", "onestop_response_cache_stores", "Whole answers kept in the response cache"),
    (
        "invalidations",
        "onestop_response_cache_invalidations",
        "Departments whose kept answers were dropped (connector changed; '*' when departments came or went)",
    ),
)


def _response_cache(cache: Any) -> Iterator[Metric]:
    """The whole-response cache's counters and size (``schema/response_cache.py``); nothing when off."""
    if cache is None:
        return
    for attribute, name, documentation in _RESPONSE_COUNTERS:
        counter = CounterMetricFamily(name, documentation)
        counter.add_metric([], getattr(cache, attribute))
        yield counter
    entries, size = cache.store.size()
    yield GaugeMetricFamily(
        "onestop_response_cache_entries",
        "Answers in the response cache (Redis: all replicas', as of this process's last store)",
        value=entries,
    )
    if size is not None:
        yield GaugeMetricFamily(
            "onestop_response_cache_bytes", "Bytes of the answers kept in this process's memory", value=size
        )


def _first_number(holder: Any, names: tuple[str, ...]) -> float | None:
    for name in names:
        value = getattr(holder, name, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None
