"""Token buckets: in this process's memory, or in Redis shared by every gateway process.

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens a second; a request takes one token from
every bucket that applies to it (its client's, its channel's) or, if any of them is empty, from none —
so a client refused by its channel's limit does not also lose its own allowance. ``take`` answers 0.0
when the request may go, else how many seconds until it could, and which bucket said no.

Redis: one Lua script does the whole check-and-take atomically, on Redis's own clock (the gateway
processes' clocks may differ). Idle buckets expire by themselves (PEXPIRE: the time to refill).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

log = logging.getLogger("onestop.ratelimit")


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    rate: float  # tokens a second
    burst: float  # most tokens held


@dataclass(frozen=True, slots=True)
class Verdict:
    wait_s: float = 0.0  # 0: admitted
    bucket: int = -1  # index of the bucket that refused

    @property
    def admitted(self) -> bool:
        return self.wait_s <= 0.0


ADMITTED = Verdict()


class Buckets(Protocol):
    async def take(self, buckets: Sequence[Bucket]) -> Verdict: ...

    async def close(self) -> None: ...


def _refill(tokens: float, elapsed: float, bucket: Bucket) -> float:
    return min(bucket.burst, tokens + max(0.0, elapsed) * bucket.rate)


class MemoryBuckets:
    """Buckets in a dict. Buckets that have refilled are forgotten on a sweep (they would start full
    anyway), so memory follows the clients active in the last few seconds, not every client ever seen."""

    def __init__(self, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._state: dict[str, tuple[float, float, float]] = {}  # key -> (tokens, at, full at)
        self.max_entries = max_entries
        self.clock = clock  # tests pass their own to step time past a refill

    def __len__(self) -> int:
        return len(self._state)

    async def take(self, buckets: Sequence[Bucket]) -> Verdict:
        now = self.clock()
        levels = []
        verdict = ADMITTED
        for index, bucket in enumerate(buckets):
            tokens, at, _ = self._state.get(bucket.key, (bucket.burst, now, now))
            tokens = _refill(tokens, now - at, bucket)
            levels.append(tokens)
            if tokens < 1.0 and (1.0 - tokens) / bucket.rate > verdict.wait_s:
                verdict = Verdict((1.0 - tokens) / bucket.rate, index)
        taken = 1.0 if verdict.admitted else 0.0
        for bucket, tokens in zip(buckets, levels, strict=True):
            left = tokens - taken
            self._state[bucket.key] = (left, now, now + (bucket.burst - left) / bucket.rate)
        if len(self._state) > self.max_entries:
            self.sweep(now)
        return verdict

    def sweep(self, now: float) -> None:
        """Forget full buckets; if still too many (a flood of new clients), keep the newer half."""
        self._state = {k: v for k, v in self._state.items() if v[2] > now}
        if len(self._state) > self.max_entries:
            newest = sorted(self._state.items(), key=lambda item: item[1][1])[-(self.max_entries // 2) :]
            self._state = dict(newest)

    async def close(self) -> None:
        self._state.clear()


TAKE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local levels = {}
local wait, refused = 0, -1
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', KEYS[i], 't', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or at == nil then tokens, at = burst, now end
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  levels[i] = tokens
  if tokens < 1 and (1 - tokens) / rate > wait then
    wait, refused = (1 - tokens) / rate, i - 1
  end
end
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local tokens = levels[i]
  if wait == 0 then tokens = tokens - 1 end
  redis.call('HSET', KEYS[i], 't', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate * 1000) + 1000)
end
return {tostring(wait), refused}
"""


class RedisBuckets:
    """Buckets shared by every gateway process through Redis.

    If Redis fails, each process falls back to its own ``MemoryBuckets`` with the same rates (so a
    client is limited per process — at most N times its rate over N processes — instead of not at
    all), and asks Redis again at most once every ``retry_s``, so an outage costs no time per request.
    The outage is logged once when it starts and once when Redis answers again, not per request.
    """

    def __init__(
        self, url: str, max_connections: int = 64, timeout_s: float = 0.5, retry_s: float = 1.0
    ) -> None:
        # a bounded pool: requests beyond it wait for a connection (at most timeout_s, then fall back)
        # instead of opening one connection each under a burst
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
        self.redis: Redis = Redis.from_pool(pool)
        self._script = self.redis.register_script(TAKE_SCRIPT)
        self.fallback = MemoryBuckets()
        self.retry_s = retry_s
        self._retry_at = float("-inf")  # while Redis is down: when to ask it again
        self.down = False
        self.fallbacks = 0  # requests decided by the per-process buckets

    async def take(self, buckets: Sequence[Bucket]) -> Verdict:
        if self.down and time.monotonic() < self._retry_at:
            self.fallbacks += 1
            return await self.fallback.take(buckets)
        args: list[float] = []
        for bucket in buckets:
            args += [bucket.rate, bucket.burst]
        try:
            wait, refused = await self._script(keys=[b.key for b in buckets], args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            if not _pool_busy(exc):  # a busy pool is congestion, not an outage: this request only
                self._failed(exc)
            self.fallbacks += 1
            return await self.fallback.take(buckets)
        if self.down:
            self.down = False
            log.warning(
                "rate limits shared through Redis again (after %d per-process decisions)", self.fallbacks
            )
        wait_s = float(wait)
        return ADMITTED if wait_s <= 0 else Verdict(wait_s, int(refused))

    def _failed(self, exc: Exception) -> None:
        self._retry_at = time.monotonic() + self.retry_s
        if not self.down:
            self.down = True
            log.warning(
                "rate limits per process: Redis failed (%s); each process limits on its own until it is back",
                type(exc).__name__,
            )

    async def close(self) -> None:
        await self.redis.aclose()
        await self.fallback.close()


def _pool_busy(exc: BaseException) -> bool:
    """Every pooled connection stayed busy past the timeout (redis-py's "No connection available.")."""
    return isinstance(exc.__cause__, TimeoutError) and "No connection available" in str(exc)
