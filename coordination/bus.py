"""A topic bus: ``publish(topic, message)`` and ``subscribe(topic)``; in process or across processes.

``LocalBus`` delivers within one process (the embedded default). ``RedisBus`` sends every message
through Redis pub/sub, so a subscriber on any gateway process hears a message published on any other;
each process keeps one pub/sub connection and fans messages out to its local subscribers. A message is
a JSON object. Delivery is at-most-once: a subscriber that falls ``QUEUE_SIZE`` messages behind loses
the oldest (logged), so one slow client never grows a process's memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from observability.supervisor import stop, supervise
from observability.throttle import ThrottledLog

log = logging.getLogger("onestop.bus")
_throttled = ThrottledLog(log)  # per kind: one line, then a count every few seconds

Message = dict[str, Any]
QUEUE_SIZE = 1000
RECONNECT_S = 0.5
RECONNECT_MAX_S = 5.0


class Subscription:
    """Messages of one topic, in order, for one subscriber."""

    def __init__(self, topic: str, size: int = QUEUE_SIZE) -> None:
        self.topic = topic
        self.queue: asyncio.Queue[Message] = asyncio.Queue(size)
        self.dropped = 0

    def deliver(self, message: Message) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            _throttled.warning(
                f"bus behind {self.topic}", "bus: a subscriber of %s fell behind; oldest dropped", self.topic
            )
        self.queue.put_nowait(message)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        return await self.queue.get()


class Bus(Protocol):
    async def publish(self, topic: str, message: Message) -> None: ...

    def subscribe(self, topic: str) -> contextlib.AbstractAsyncContextManager[Subscription]: ...

    async def close(self) -> None: ...


class LocalBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}

    async def publish(self, topic: str, message: Message) -> None:
        self.deliver(topic, message)

    def deliver(self, topic: str, message: Message) -> None:
        for subscription in tuple(self._subscribers.get(topic, ())):
            subscription.deliver(message)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(topic)
        self._subscribers.setdefault(topic, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(topic, set())
            subscribers.discard(subscription)
            if not subscribers:
                self._subscribers.pop(topic, None)

    def subscribers(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    async def close(self) -> None:
        self._subscribers.clear()


class RedisBus:
    """Redis pub/sub under ``<namespace>:bus:<topic>``; one connection per process for listening.

    Redis may go away at any time. Subscribing then still succeeds (the topic is kept locally and
    subscribed once Redis is back), the listener task waits and reconnects with backoff (it is
    supervised: whatever it raises is logged and it starts again), and its log lines are throttled
    per kind (``observability.throttle``): one line, then a count every few seconds, not one a try.
    """

    def __init__(self, url: str, namespace: str = "onestop") -> None:
        self.redis = Redis.from_url(url)
        self.prefix = f"{namespace}:bus:"
        self.local = LocalBus()
        self._topics: Counter[str] = Counter()
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stale = False  # the pub/sub connection failed: resubscribe every topic before listening
        self.reconnects = 0  # successful resubscriptions after a failure (tests, /readyz)

    async def publish(self, topic: str, message: Message) -> None:
        await self.redis.publish(self.prefix + topic, orjson.dumps(message))

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        async with self._lock:
            if self._topics[topic] == 0 and not self._stale:
                try:
                    await self._pubsub.subscribe(self.prefix + topic)
                except Exception as exc:  # Redis away: the listener subscribes it when Redis is back
                    self._failed("subscribe", exc)
            self._topics[topic] += 1
            if self._listener is None or self._listener.done():
                self._listener = supervise("bus-listener", self._listen, max_backoff_s=RECONNECT_MAX_S)
        try:
            async with self.local.subscribe(topic) as subscription:
                yield subscription
        finally:
            async with self._lock:
                self._topics[topic] -= 1
                if self._topics[topic] <= 0:
                    del self._topics[topic]
                    if not self._stale:
                        with contextlib.suppress(RedisError, OSError, RuntimeError):
                            await self._pubsub.unsubscribe(self.prefix + topic)

    async def _listen(self) -> None:
        """Until no topic is left: deliver messages; on a failure wait (doubling) and resubscribe."""
        wait_s = RECONNECT_S
        while self._topics:
            try:
                if self._stale:
                    await self._resubscribe()
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError, RuntimeError, TimeoutError) as exc:
                # RuntimeError: "pubsub connection not set" after a failed (re)subscribe
                self._failed("listen", exc)
                await asyncio.sleep(wait_s)
                wait_s = min(wait_s * 2, RECONNECT_MAX_S)
                continue
            wait_s = RECONNECT_S
            if message is not None and message.get("type") == "message":
                self._deliver(message)

    def _deliver(self, message: dict[str, Any]) -> None:
        raw = message["channel"]
        channel = raw.decode() if isinstance(raw, bytes) else str(raw)
        try:
            payload = orjson.loads(message["data"])
        except orjson.JSONDecodeError:
            _throttled.warning("bus not json", "bus: a message on %s is not JSON; ignored", channel)
            return
        if isinstance(payload, dict):
            self.local.deliver(channel.removeprefix(self.prefix), payload)

    def _failed(self, action: str, exc: BaseException) -> None:
        self._stale = True
        _throttled.warning(
            f"bus {action}", "bus: Redis pub/sub %s failed (%s); reconnecting", action, type(exc).__name__
        )

    async def _resubscribe(self) -> None:
        """A fresh pub/sub connection subscribed to every topic; raises while Redis is away."""
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            if self._topics:
                await self._pubsub.subscribe(*(self.prefix + t for t in self._topics))
            self._stale = False
            self.reconnects += 1
        log.info("bus: Redis pub/sub reconnected (%d topics)", len(self._topics))

    async def close(self) -> None:
        await stop(self._listener)
        with contextlib.suppress(RedisError, OSError, RuntimeError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self.redis.aclose()
        await self.local.close()


def make_bus(redis_url: str | None, namespace: str) -> LocalBus | RedisBus:
    return RedisBus(redis_url, namespace) if redis_url else LocalBus()
