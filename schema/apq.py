"""Automatic persisted queries: documents registered at run time by their SHA-256, as Apollo clients
expect, so an APQ client sends a query's text once and its hash alone afterwards.

A hash with its text registers the text (the hash is checked against the text first, and the document
is kept only once it has run: a document refused by parsing, validation or the query limits is not
kept). Only channels not locked to trusted documents register or look up: a locked channel runs its
manifest and nothing else (``schema/persisted.py``).

Where: in Redis when the gateway has one (``ONESTOP_REDIS_URL``, else a ``redis://`` cache URL), so
every replica knows a document another replica registered; otherwise in this process's memory (the
embedded set-up is one process). Bounded both ways: at most ``max_documents`` (the oldest registered go
first), each at most ``max_bytes``, each forgotten ``ttl_s`` after it was registered (a client whose
hash was forgotten gets ``PERSISTED_QUERY_NOT_FOUND`` and registers it again: one more round trip).
Redis failing costs round trips, never a request: a lookup that fails is a miss, a write that fails is
skipped (both logged, once a minute).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from observability.throttle import ThrottledLog

log = logging.getLogger("onestop.apq")


@dataclass(frozen=True, slots=True)
class Bounds:
    max_documents: int
    max_bytes: int
    ttl_s: float

    def admits(self, query: str) -> bool:
        return self.max_documents > 0 and len(query.encode()) <= self.max_bytes


class Documents(Protocol):
    bounds: Bounds

    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, query: str) -> None: ...

    async def close(self) -> None: ...


class MemoryDocuments:
    """This process's registered documents: least recently registered evicted first."""

    def __init__(self, bounds: Bounds, clock: Callable[[], float] = time.monotonic) -> None:
        self.bounds = bounds
        self._clock = clock
        self._documents: OrderedDict[str, tuple[str, float]] = OrderedDict()

    async def get(self, digest: str) -> str | None:
        found = self._documents.get(digest)
        if found is None:
            return None
        query, expires = found
        if expires <= self._clock():
            del self._documents[digest]
            return None
        return query

    async def put(self, digest: str, query: str) -> None:
        if not self.bounds.admits(query):
            return
        self._documents.pop(digest, None)
        self._documents[digest] = (query, self._clock() + self.bounds.ttl_s)
        while len(self._documents) > self.bounds.max_documents:
            self._documents.popitem(last=False)

    def __len__(self) -> int:
        return len(self._documents)

    async def close(self) -> None:
        self._documents.clear()


# One key per document (expiring on its own) and an index by registration time that keeps the count
# bounded; one script, so two replicas registering at once cannot push the count past the bound.
PUT_SCRIPT = """
local now = tonumber(redis.call('TIME')[1])
local ttl = tonumber(ARGV[4])
redis.call('SET', ARGV[1] .. ARGV[2], ARGV[3], 'EX', ttl)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[1], over)
  for i = 1, #oldest, 2 do redis.call('DEL', ARGV[1] .. oldest[i]) end
end
redis.call('EXPIRE', KEYS[1], ttl)
return over
"""


class RedisDocuments:
    """Documents every gateway process shares, under ``<namespace>:apq:``."""

    def __init__(self, url: str, namespace: str, bounds: Bounds, timeout_s: float = 0.5) -> None:
        self.bounds = bounds
        self.redis: Redis = Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, max_connections=32
        )
        self.prefix = f"{namespace}:apq:doc:"
        self.index = f"{namespace}:apq:index"
        self._put = self.redis.register_script(PUT_SCRIPT)
        self._throttled = ThrottledLog(log, window_s=60.0)

    async def get(self, digest: str) -> str | None:
        try:
            found = await self.redis.get(self.prefix + digest)
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn(exc)
            return None
        return found.decode() if isinstance(found, bytes) else found

    async def put(self, digest: str, query: str) -> None:
        if not self.bounds.admits(query):
            return
        ttl = max(1, round(self.bounds.ttl_s))
        try:
            args: list[str | int] = [self.prefix, digest, query, ttl, self.bounds.max_documents]
            await self._put(keys=[self.index], args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        message = "persisted queries: Redis failed (%s); clients send full queries"
        self._throttled.warning("apq redis", message, type(exc).__name__)

    async def close(self) -> None:
        await self.redis.aclose()


def documents_for(redis_url: str | None, namespace: str, bounds: Bounds) -> Documents:
    """Redis when the gateway has one (``Settings.shared_redis_url``: shared by replicas), else this
    process's memory."""
    if redis_url:
        return RedisDocuments(redis_url, namespace, bounds)
    return MemoryDocuments(bounds)
