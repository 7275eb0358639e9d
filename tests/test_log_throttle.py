"""The outage toolkit on its own: log lines throttled per kind, background tasks supervised, and a bus
whose Redis is unreachable staying alive."""

from __future__ import annotations

import asyncio
import logging

import pytest

from coordination.bus import RedisBus
from observability.supervisor import stop, supervise
from observability.throttle import ThrottledLog
from tests.live_support import until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def messages(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == name]


def test_a_storm_of_one_kind_is_one_line_then_a_count(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    throttled = ThrottledLog(logging.getLogger("t.storm"), window_s=5, clock=clock)
    with caplog.at_level(logging.INFO, logger="t.storm"):
        for n in range(1000):
            throttled.warning("cache get", "cache get failed: %s", n)
        throttled.warning("bus", "bus failed")  # another kind has its own first line
        clock.now += 5
        throttled.flush()
        clock.now += 5
        throttled.flush()  # a quiet window: nothing to say, and the kind is forgotten
        throttled.warning("cache get", "cache get failed: %s", "again")
    assert messages(caplog, "t.storm") == [
        "cache get failed: 0",
        "bus failed",
        "999 more like this in the last 5 s (cache get)",
        "cache get failed: again",
    ]


async def test_the_last_count_of_an_outage_is_written_by_a_timer(caplog: pytest.LogCaptureFixture) -> None:
    throttled = ThrottledLog(logging.getLogger("t.timer"), window_s=0.05)
    with caplog.at_level(logging.INFO, logger="t.timer"):
        for _ in range(10):
            throttled.warning("redis", "redis failed")
        await until(lambda: len(messages(caplog, "t.timer")) == 2, timeout=5)
    assert messages(caplog, "t.timer")[1].startswith("9 more like this")


async def test_a_failing_task_is_logged_and_restarted_never_left_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("pubsub connection not set")
        await asyncio.Event().wait()  # then runs until cancelled

    with caplog.at_level(logging.WARNING, logger="onestop.tasks"):
        task = supervise("flaky", flaky, min_backoff_s=0.01, max_backoff_s=0.02)
        await until(lambda: len(runs) == 3, timeout=5)
        assert not task.done()
        await stop(task)
    assert task.cancelled()
    assert "background task flaky failed (RuntimeError: pubsub connection not set)" in caplog.text


async def test_a_task_that_returns_ends(caplog: pytest.LogCaptureFixture) -> None:
    async def done() -> None:
        return None

    task = supervise("done", done)
    await asyncio.wait_for(task, 5)
    assert task.result() is None


async def test_a_bus_without_redis_subscribes_and_keeps_its_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    bus = RedisBus("redis://127.0.0.1:1/0", "throttle-test")  # nothing listens there
    failures: list[str] = []
    failed = bus._failed

    def counted(action: str, exc: BaseException) -> None:
        failures.append(action)
        failed(action, exc)

    monkeypatch.setattr(bus, "_failed", counted)
    try:
        async with bus.subscribe("connectors") as subscription:
            await until(lambda: failures.count("listen") >= 2)  # the listener failed, waited, tried again
            assert bus._listener is not None and not bus._listener.done()
            bus.local.deliver("connectors", {"department": "x"})  # local delivery still works
            assert await asyncio.wait_for(subscription.__anext__(), 1) == {"department": "x"}
    finally:
        await bus.close()
