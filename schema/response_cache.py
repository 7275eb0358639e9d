"""Whole responses to public queries, kept and served again without executing them.

What Hive Gateway's response cache does, for the part of Onestop's graph that is the same for everyone:
the catalogue, stations and departments. A response is kept only when all of this holds:

* **the document is public**, decided mechanically from the schema: every field it selects, in every
  operation and fragment, is listed in ``PUBLIC_FIELDS`` below (the one place that says what may be
  cached), and every operation is a query. Anything not listed — ``me``, ``resident``, every personal
  type, mutations, subscriptions, introspection, federation's ``_entities`` and a field added tomorrow
  — is not cacheable: unknown means no. A public field whose answer changes without its data changing
  (``Department.status``, the breaker's state) is left out on purpose;
* **it ran cleanly**: data, no error, no ``extensions`` (so never a partial answer and never one with
  ``extensions.stale``: those are executed every time and their flags and errors stay exact);
* **its data is fresh**: the departments' data it used (``Notices.used``: department, operation, age)
  is within its spec's ``cache_ttl_s``; the response is kept for the shortest remaining freshness
  (at most ``ONESTOP_RESPONSE_CACHE_MAX_TTL_S``), so it is never older than the connectors' own cache
  would serve.

The key is the document, operation name, variables, channel and answer media type (no public field
depends on who asks, so tokens and roles are not in it; nothing that depends on them is ever kept).
Each entry records the connector version of every department it used: it is served only while the
request's registry serves those versions, and when this process sees a department's version change (a
reload or a rollback, by the bus or by polling) it drops every entry tagged with that department.

Shared through Redis when the gateway has one (``ONESTOP_REDIS_URL``, else a ``redis://`` cache URL),
else in this process's memory; bounded in entries (oldest out) and in bytes per entry. A Redis failure
is a miss, never a failed request. On GET, a kept answer carries ``Cache-Control: public, max-age=<its
remaining freshness>`` and an ``ETag`` (``If-None-Match`` → ``304``), for CDNs and kiosks; every other
answer says ``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import hashlib
import logging
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    print_schema,
    visit,
)
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.responses import Response
from strawberry.types import ExecutionResult

from connectors.registry import Registry
from observability.requests import CURRENT_REQUEST
from observability.throttle import ThrottledLog
from schema.limits import LRU

log = logging.getLogger("onestop.response_cache")

# -- what may be cached: the one list ------------------------------------------------------------------

# Root fields whose answer is the same for everyone; True: it reads every department's connector (the
# department list), so every department's version is recorded with it.
PUBLIC_ROOTS: Mapping[str, bool] = {
    "departments": True,
    "services": False,
    "service": False,
    "stations": False,
}
PUBLIC_FIELDS: Mapping[str, frozenset[str]] = {
    "Service": frozenset(
        {
            "id",
            "name",
            "nameEn",
            "description",
            "category",
            "channels",
            "feeFen",
            "processingDays",
            "requiredDocuments",
            "updatedAt",
            "criteria",
            "department",
        }
    ),
    "Criterion": frozenset({"fact", "op", "value", "text"}),
    # not ``status``: the breaker's state changes from one second to the next, not with the data
    "Department": frozenset({"id", "name", "nameEn", "capabilities", "connectorVersion"}),
    "ServiceConnection": frozenset({"edges", "pageInfo", "totalCount"}),
    "ServiceEdge": frozenset({"cursor", "node"}),
    "PageInfo": frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}),
    "Station": frozenset({"id", "name", "town", "address", "location", "phone", "openingHours", "services"}),
    "GeoPoint": frozenset({"latitude", "longitude"}),
    "OpeningPeriod": frozenset({"weekday", "opens", "closes"}),
    "StationHit": frozenset({"station", "distanceMeters", "walkMinutes"}),
}
# Fields of public types deliberately not cacheable (the test of this list checks every field of a
# public type is in exactly one of the two, so a field added to a public type must be classified).
# ``Station.activities``: places change with every sign-up, in the gateway's own store (no freshness)
NOT_CACHED: Mapping[str, frozenset[str]] = {
    "Department": frozenset({"status"}),
    "Station": frozenset({"activities"}),
}


@dataclass(frozen=True, slots=True)
class Verdict:
    public: bool
    all_departments: bool = False  # it reads the department list: depends on every connector


PRIVATE = Verdict(False)


class _Classifier(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.public = True
        self.all_departments = False

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        if node.operation is not OperationType.QUERY:
            self.public = False

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        name = node.name.value
        if name == "__typename":
            return
        parent = self.type_info.get_parent_type()
        if parent is None or self.type_info.get_field_def() is None:
            self.public = False  # not in the schema: validation refuses it; it is not ours to keep
        elif parent.name == "Query":
            self.public = self.public and name in PUBLIC_ROOTS
            self.all_departments = self.all_departments or PUBLIC_ROOTS.get(name, False)
        elif name not in PUBLIC_FIELDS.get(parent.name, ()):
            self.public = False


def classify(schema: GraphQLSchema, document: DocumentNode) -> Verdict:
    """Public when every field of every operation and fragment is listed above, and all are queries."""
    type_info = TypeInfo(schema)
    classifier = _Classifier(type_info)
    visit(document, TypeInfoVisitor(type_info, classifier))
    if not classifier.public:
        return PRIVATE
    return Verdict(True, classifier.all_departments)


class Rules:
    """Verdicts per document text, remembered (bounded) so a repeated document is one dict lookup."""

    def __init__(self, schema: GraphQLSchema, max_documents: int = 1024) -> None:
        self.schema = schema
        self._verdicts = LRU(max_documents)
        # answers differ between schema versions: a replica of another release keys its own entries
        self.fingerprint = hashlib.sha256(print_schema(schema).encode()).hexdigest()[:16]

    def known(self, query: str) -> Verdict | None:
        return self._verdicts.get(query)

    def judge(self, query: str) -> Verdict:
        """Only for a document that has run (within the query limits): parsing it again is then safe."""
        verdict = self._verdicts.get(query)
        if verdict is None:
            try:
                verdict = classify(self.schema, parse(query, no_location=True))
            except GraphQLError:
                verdict = PRIVATE
            self._verdicts.remember(query, verdict)
        return verdict


# -- entries and where they are kept -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    body: bytes
    operation: str | None
    expires_at: float  # wall clock (shared between processes)
    versions: Mapping[str, int]  # department -> connector version the answer was made with
    etag: str

    def remaining(self, now: float) -> float:
        return self.expires_at - now

    def encode(self) -> bytes:
        head = {"op": self.operation, "exp": self.expires_at, "v": dict(self.versions), "etag": self.etag}
        return orjson.dumps(head) + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> Entry:
        head, _, body = raw.partition(b"\n")
        fields = orjson.loads(head)
        return cls(body, fields["op"], float(fields["exp"]), dict(fields["v"]), str(fields["etag"]))


class Store(Protocol):
    async def get(self, key: str) -> Entry | None: ...

    async def put(self, key: str, entry: Entry, ttl_s: float) -> None: ...

    async def invalidate(self, departments: Iterable[str]) -> None: ...

    async def close(self) -> None: ...

    def size(self) -> tuple[int, int | None]:
        """Entries kept, and bytes of their bodies (None where it is not known without asking)."""
        ...


class MemoryStore:
    """This process's responses, least recently stored out first; a tag index per department."""

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.tags: dict[str, set[str]] = {}
        self.bytes = 0  # of the bodies kept

    async def get(self, key: str) -> Entry | None:
        entry = self.entries.get(key)
        if entry is not None and entry.expires_at <= self._clock():
            self._drop(key)
            return None
        return entry

    async def put(self, key: str, entry: Entry, ttl_s: float) -> None:
        self._drop(key)
        self.entries[key] = entry
        self.bytes += len(entry.body)
        for department in entry.versions:
            self.tags.setdefault(department, set()).add(key)
        while len(self.entries) > self.max_entries:
            self._drop(next(iter(self.entries)))

    async def invalidate(self, departments: Iterable[str]) -> None:
        for department in departments:
            for key in self.tags.pop(department, set()):
                self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key, None)
        if entry is not None:
            self.bytes -= len(entry.body)
            for department in entry.versions:
                self.tags.get(department, set()).discard(key)

    async def close(self) -> None:
        self.entries.clear()
        self.tags.clear()
        self.bytes = 0

    def size(self) -> tuple[int, int | None]:
        return len(self.entries), self.bytes


# One key per response (expiring on its own), a set of keys per department (its tag), and an index by
# time that keeps the count bounded; scripts, so replicas storing at once cannot pass the bound.
PUT_SCRIPT = """
local now = tonumber(redis.call('TIME')[1])
local ttl = tonumber(ARGV[3])
redis.call('SET', ARGV[1] .. ARGV[2], ARGV[4], 'PX', math.floor(ttl * 1000))
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[6]))
for i = 8, #ARGV do
  redis.call('SADD', ARGV[5] .. ARGV[i], ARGV[2])
  redis.call('EXPIRE', ARGV[5] .. ARGV[i], math.ceil(tonumber(ARGV[6])))
end
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[7])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[1], over)
  for i = 1, #oldest, 2 do redis.call('DEL', ARGV[1] .. oldest[i]) end
end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[6])))
return redis.call('ZCARD', KEYS[1])
"""
INVALIDATE_SCRIPT = """
for i = 1, #KEYS do
  local keys = redis.call('SMEMBERS', KEYS[i])
  for j = 1, #keys do
    redis.call('DEL', ARGV[1] .. keys[j])
    redis.call('ZREM', ARGV[2], keys[j])
  end
  redis.call('DEL', KEYS[i])
end
return 0
"""


class RedisStore:
    """Responses every gateway process shares, under ``<namespace>:rc:``."""

    def __init__(
        self, url: str, namespace: str, max_entries: int, max_ttl_s: float, timeout_s: float = 0.5
    ) -> None:
        self.redis: Redis = Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, max_connections=32
        )
        self.prefix = f"{namespace}:rc:entry:"
        self.tag_prefix = f"{namespace}:rc:tag:"
        self.index = f"{namespace}:rc:index"
        self.max_entries = max_entries
        self.max_ttl_s = max_ttl_s
        self._put = self.redis.register_script(PUT_SCRIPT)
        self._invalidate = self.redis.register_script(INVALIDATE_SCRIPT)
        self._throttled = ThrottledLog(log, window_s=60.0)
        self.errors = 0
        self.entries = 0  # as the last store by this process found them (all replicas' entries)

    async def get(self, key: str) -> Entry | None:
        try:
            raw = await self.redis.get(self.prefix + key)
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn(exc)
            return None
        if raw is None:
            return None
        try:
            return Entry.decode(raw)
        except (ValueError, KeyError, TypeError) as exc:  # another layout, or tampered: a miss
            self._warn(exc)
            return None

    async def put(self, key: str, entry: Entry, ttl_s: float) -> None:
        args: list[Any] = [self.prefix, key, ttl_s, entry.encode(), self.tag_prefix, self.max_ttl_s]
        args += [self.max_entries, *entry.versions]
        try:
            self.entries = int(await self._put(keys=[self.index], args=args))
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn(exc)

    async def invalidate(self, departments: Iterable[str]) -> None:
        tags = [self.tag_prefix + d for d in departments]
        if not tags:
            return
        try:
            await self._invalidate(keys=tags, args=[self.prefix, self.index])
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        self.errors += 1
        message = "response cache: Redis failed (%s); answering without it"
        self._throttled.warning("response cache redis", message, type(exc).__name__)

    async def close(self) -> None:
        await self.redis.aclose()

    def size(self) -> tuple[int, int | None]:
        """Counting bytes in Redis would cost a scan: entries only, as of this process's last store."""
        return self.entries, None


# -- the cache: keys, freshness, invalidation ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    max_ttl_s: float


class ResponseCache:
    def __init__(
        self, rules: Rules, store: Store, limits: Limits, clock: Callable[[], float] = time.time
    ) -> None:
        self.rules = rules
        self.store = store
        self.limits = limits
        self._clock = clock
        self._seen: dict[str, int] | None = None  # connector versions this process last served
        # what /metrics reports (observability/metrics.py reads them when scraped)
        self.hits = 0
        self.misses = 0
        self.stored = 0
        self.invalidations = 0  # departments (tags) whose answers were dropped, "*" for membership

    def now(self) -> float:
        """The wall clock entries expire on (injected: tests move it)."""
        return self._clock()

    def key(self, query: str, operation: str | None, variables: Any, channel: str, media_type: str) -> str:
        parts = (self.rules.fingerprint, query, operation or "", channel, media_type)
        digest = hashlib.sha256("\0".join(parts).encode())
        digest.update(b"\0" + orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS))
        return digest.hexdigest()

    async def lookup(self, key: str, versions: Mapping[str, int]) -> Entry | None:
        """The entry under ``key`` if it is fresh and was made with the connector ``versions`` served
        now (``observe``'s answer)."""
        entry = await self.store.get(key)
        if entry is None or entry.remaining(self._clock()) <= 0 or not _serves(versions, entry.versions):
            self.misses += 1
            return None
        self.hits += 1
        return entry

    async def keep(
        self,
        key: str,
        body: bytes,
        operation: str | None,
        verdict: Verdict,
        used: Iterable[Used],
        registry: Registry,
        served: Mapping[str, int],
    ) -> Entry | None:
        """Store a clean public answer for its data's remaining freshness; None when it may not be kept.
        ``served``: the connector versions ``observe`` saw before the answer was made. Should a reload
        come while it ran, the entry carries the older versions and is never served (fail closed)."""
        if len(body) > self.limits.max_bytes:
            return None
        fresh = freshness(used, registry, self.limits.max_ttl_s)
        if fresh is None or fresh[0] < 1.0:
            return None
        ttl_s, departments = fresh
        if verdict.all_departments:
            departments = departments | {d.id for d in registry.all()}
        if not departments <= served.keys():
            return None
        # every answer also depends on which departments there are ("all catalogues" gains a new one)
        versions = {d: served[d] for d in departments} | {MEMBERSHIP: membership(served)}
        etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
        entry = Entry(body, operation, self._clock() + ttl_s, versions, etag)
        await self.store.put(key, entry, ttl_s)
        self.stored += 1
        return entry

    async def observe(self, registry: Registry) -> dict[str, int]:
        """Drop what departments whose connector version changed made (a reload, or a rollback), and
        everything when a department came or went. Returns the versions served."""
        versions = registry.versions()
        seen, self._seen = self._seen, versions
        if seen is None or seen == versions:
            return versions
        changed = {d for d in seen.keys() | versions.keys() if seen.get(d) != versions.get(d)}
        if seen.keys() != versions.keys():
            changed.add(MEMBERSHIP)
        log.info("response cache: dropping what %s made", ", ".join(sorted(changed)))
        await self.invalidate(sorted(changed))
        return versions

    async def invalidate(self, departments: Iterable[str]) -> None:
        dropped = list(departments)
        self.invalidations += len(dropped)
        await self.store.invalidate(dropped)

    async def close(self) -> None:
        await self.store.close()


Used = tuple[str, str, float]  # department, operation, age of its data in seconds


def freshness(used: Iterable[Used], registry: Registry, max_ttl_s: float) -> tuple[float, set[str]] | None:
    """Shortest remaining freshness of the data used, and its departments; None if any is not public."""
    ttl_s = max_ttl_s
    departments: set[str] = set()
    for department, operation, age_s in used:
        connector = registry.get(department)
        spec = None if connector is None else connector.spec.operations.get(operation)  # type: ignore[call-overload]
        if spec is None or not spec.public:
            return None
        ttl_s = min(ttl_s, spec.cache_ttl_s - age_s)
        departments.add(department)
    return ttl_s, departments


MEMBERSHIP = "*"  # the tag every entry has: which departments are served


def membership(served: Mapping[str, int]) -> int:
    return zlib.crc32(",".join(sorted(served)).encode())


def _serves(served: Mapping[str, int], versions: Mapping[str, int]) -> bool:
    """Whether this request's registry serves the connector versions (and departments) an entry used."""
    for department, version in versions.items():
        if department == MEMBERSHIP:
            if membership(served) != version:
                return False
        elif served.get(department) != version:
            return False
    return True


def response_cache_for(
    schema: GraphQLSchema,
    enabled: bool,
    redis_url: str | None,
    cache_url: str,
    namespace: str,
    max_entries: int,
    limits: Limits,
) -> ResponseCache | None:
    """Redis when the gateway has one (``Settings.shared_redis_url``: shared by replicas), else memory;
    None when off (also when the connectors' cache is off, ``none://``: then every request is meant to
    reach the departments)."""
    if not enabled or cache_url.startswith("none:"):
        return None
    store: Store = (
        RedisStore(redis_url, namespace, max_entries, limits.max_ttl_s)
        if redis_url
        else MemoryStore(max_entries)
    )
    return ResponseCache(Rules(schema), store, limits)


# -- the view's part -----------------------------------------------------------------------------------

NO_STORE = "private, no-store"
VARY = "Accept, Authorization, X-Onestop-Channel"


class CachedResponses:
    """Mixin for the GraphQL view, after ``StrictRequests`` (the document is then the one the trusted
    documents allow) and before strawberry's view: answers from the cache, keeps clean public answers,
    and sets ``Cache-Control`` / ``ETag`` / ``304``. Reads the view's ``responses`` (None: off)."""

    responses: ResponseCache | None

    async def execute_operation(
        self, request: Any, request_adapter: Any, request_data: Any, *args: Any, **kwargs: Any
    ) -> Any:
        cache = self.responses
        sub_response: Response = kwargs["sub_response"]
        query = getattr(request_data, "query", None)
        verdict = cache.rules.known(query) if cache is not None and isinstance(query, str) else PRIVATE
        if cache is None or not isinstance(query, str) or not (verdict is None or verdict.public):
            sub_response.headers["Cache-Control"] = NO_STORE  # personal, or off: nothing looked up
            return await super().execute_operation(request, request_adapter, request_data, *args, **kwargs)  # type: ignore[misc]
        context = kwargs["context"]
        media = getattr(sub_response, "negotiated", "application/json")
        channel = getattr(context.channel, "value", "unknown")
        key = cache.key(query, request_data.operation_name, request_data.variables, channel, media)
        # public, or not judged here yet (an entry under this key was judged public by whoever kept it,
        # on this schema): a hit needs no parsing, validation or execution
        versions = await cache.observe(context.registry)  # once: the lookup's and the keeping's
        entry = await cache.lookup(key, versions)
        if entry is not None:
            self._answer(request, sub_response, entry, cache.now())
            record = CURRENT_REQUEST.get()
            if record is not None:  # metrics and the access log line, as if it had run
                record.executed(entry.operation, "query", [], True)
            return ExecutionResult(data=None, errors=None)
        result = await super().execute_operation(request, request_adapter, request_data, *args, **kwargs)  # type: ignore[misc]
        stored = await self._keep(cache, key, query, request, result, context, versions)
        if stored is None:
            sub_response.headers["Cache-Control"] = NO_STORE
        else:
            self._answer(request, sub_response, stored, cache.now())
        return result

    async def _keep(
        self,
        cache: ResponseCache,
        key: str,
        query: str,
        request: Any,
        result: Any,
        context: Any,
        versions: Mapping[str, int],
    ) -> Entry | None:
        """Keep a clean answer to a public document; the document has run, so judging it is safe."""
        if (
            not isinstance(result, ExecutionResult)
            or result.errors
            or result.extensions
            or result.data is None
        ):
            return None
        verdict = cache.rules.judge(query)
        used = getattr(context.notices, "used", None)
        if not verdict.public or used is None:
            return None
        body: bytes = self.encode_json(await self.process_result(request, result))  # type: ignore[attr-defined]
        record = CURRENT_REQUEST.get()
        operation = record.operation if record is not None else None  # as OperationObserver named it
        return await cache.keep(key, body, operation, verdict, used, context.registry, versions)

    @staticmethod
    def _answer(request: Any, sub_response: Response, entry: Entry, now: float) -> None:
        """The body to send (no encoding again), and the headers a CDN needs on GET (``now``: the
        cache's clock, which its entries expire on)."""
        sub_response.cached_body = entry.body  # type: ignore[attr-defined]
        if request.method != "GET":
            sub_response.headers["Cache-Control"] = NO_STORE  # POST answers are not for shared caches
            return
        max_age = max(0, int(entry.remaining(now)))
        sub_response.headers["Cache-Control"] = f"public, max-age={max_age}"
        sub_response.headers["ETag"] = entry.etag
        sub_response.headers["Vary"] = VARY
        if _matches(request.headers.get("if-none-match"), entry.etag):
            sub_response.status_code = 304

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        body: bytes | None = getattr(sub_response, "cached_body", None)
        if body is None:
            return super().create_response(response_data, sub_response)  # type: ignore[misc,no-any-return]
        status = sub_response.status_code or 200
        response = Response(b"" if status == 304 else body, status, media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        return response


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags
