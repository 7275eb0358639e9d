"""The bus: in process, and across processes through real Redis pub/sub."""

from __future__ import annotations

import asyncio

from coordination.bus import LocalBus, RedisBus, Subscription
from tests.conftest import TEST_NAMESPACE
from tests.waiting import until


async def redis_listens(bus: RedisBus, topic: str) -> bool:
    """Redis itself counts a subscriber on the topic's channel (SUBSCRIBE has arrived there)."""
    counts = await bus.redis.pubsub_numsub(bus.prefix + topic)
    return any(count >= 1 for _, count in counts)


async def _next(subscription: Subscription) -> dict[str, object]:
    return await asyncio.wait_for(anext(subscription), 5)


async def test_local_bus_delivers_to_every_subscriber_of_a_topic_only() -> None:
    bus = LocalBus()
    async with (
        bus.subscribe("cases") as first,
        bus.subscribe("cases") as second,
        bus.subscribe("other") as other,
    ):
        await bus.publish("cases", {"n": 1})
        assert await _next(first) == {"n": 1} and await _next(second) == {"n": 1}
        assert other.queue.empty()
    assert bus.subscribers("cases") == 0


async def test_a_slow_subscriber_loses_the_oldest_message_not_memory() -> None:
    bus = LocalBus()
    async with bus.subscribe("t") as subscription:
        for n in range(subscription.queue.maxsize + 5):
            await bus.publish("t", {"n": n})
        assert subscription.dropped == 5
        assert (await _next(subscription))["n"] == 5


async def test_redis_bus_carries_a_message_from_one_process_to_another(redis_url: str) -> None:
    publisher, listener = RedisBus(redis_url, TEST_NAMESPACE), RedisBus(redis_url, TEST_NAMESPACE)
    try:
        async with listener.subscribe("cases") as subscription:
            await until(lambda: redis_listens(listener, "cases"))
            await publisher.publish("cases", {"case": "C-1", "status": "APPROVED"})
            assert await _next(subscription) == {"case": "C-1", "status": "APPROVED"}
            await publisher.redis.publish(f"{TEST_NAMESPACE}:bus:cases", b"not json")
            await publisher.publish("cases", {"case": "C-2"})
            assert await _next(subscription) == {"case": "C-2"}  # garbage skipped, not fatal
    finally:
        await publisher.close()
        await listener.close()


async def test_redis_bus_namespaces_keep_two_deployments_apart(redis_url: str) -> None:
    ours, theirs = RedisBus(redis_url, TEST_NAMESPACE), RedisBus(redis_url, TEST_NAMESPACE + "-other")
    try:
        async with ours.subscribe("cases") as subscription:
            await until(lambda: redis_listens(ours, "cases"))
            await theirs.publish("cases", {"case": "theirs"})
            await ours.publish("cases", {"case": "ours"})
            assert await _next(subscription) == {"case": "ours"}
    finally:
        await ours.close()
        await theirs.close()
