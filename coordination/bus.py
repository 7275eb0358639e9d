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

log = logging.getLogger("onestop.bus")

Message = dict[str, Any]
QUEUE_SIZE = 1000
RECONNECT_S = 1.0


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
            log.warning("bus: a subscriber of %s fell behind; oldest message dropped", self.topic)
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
    """Redis pub/sub under ``<namespace>:bus:<topic>``; one connection per process for listening."""

    def __init__(self, url: str, namespace: str = "onestop") -> None:
        self.redis = Redis.from_url(url)
        self.prefix = f"{namespace}:bus:"
        self.local = LocalBus()
        self._topics: Counter[str] = Counter()
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def publish(self, topic: str, message: Message) -> None:
        await self.redis.publish(self.prefix + topic, orjson.dumps(message))

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        async with self._lock:
            if self._topics[topic] == 0:
                await self._pubsub.subscribe(self.prefix + topic)
            self._topics[topic] += 1
            if self._listener is None or self._listener.done():
                self._listener = asyncio.create_task(self._listen(), name="onestop-bus")
        try:
            async with self.local.subscribe(topic) as subscription:
                yield subscription
        finally:
            async with self._lock:
                self._topics[topic] -= 1
                if self._topics[topic] <= 0:
                    del self._topics[topic]
                    with contextlib.suppress(RedisError, OSError):
                        await self._pubsub.unsubscribe(self.prefix + topic)

    async def _listen(self) -> None:
        while self._topics:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                log.warning(
                    "bus: Redis pub/sub failed (%s); reconnecting in %.0fs", type(exc).__name__, RECONNECT_S
                )
                await asyncio.sleep(RECONNECT_S)
                await self._resubscribe()
                continue
            if message is None or message.get("type") != "message":
                continue
            channel = (
                message["channel"].decode() if isinstance(message["channel"], bytes) else message["channel"]
            )
            try:
                payload = orjson.loads(message["data"])
            except orjson.JSONDecodeError:
                log.warning("bus: a message on %s is not JSON; ignored", channel)
                continue
            if isinstance(payload, dict):
                self.local.deliver(channel.removeprefix(self.prefix), payload)

    async def _resubscribe(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.reset()
            self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            if self._topics:
                await self._pubsub.subscribe(*(self.prefix + t for t in self._topics))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self.redis.aclose()
        await self.local.close()


def make_bus(redis_url: str | None, namespace: str) -> LocalBus | RedisBus:
    return RedisBus(redis_url, namespace) if redis_url else LocalBus()
