"""Waiting for a condition, bounded: the one way tests wait (never a fixed sleep and hope).

``until`` polls a condition (sync or async) until it holds or the deadline passes; ``until_blocking``
is the same for code that runs in a thread or before an event loop exists (a subprocess starting up).
A condition that never holds fails the test with ``TimeoutError`` instead of hanging it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

WAIT_S = 15.0  # bound on every wait: generous, two CPUs are shared by several test runs
EVERY_S = 0.05  # how often the condition is asked again


async def until(
    condition: Callable[[], Any], timeout: float = WAIT_S, every: float = EVERY_S, what: str = ""
) -> float:
    """Wait (bounded) until ``condition()`` (sync or async) is true; the seconds it took. At the
    deadline: ``TimeoutError`` naming ``what`` was awaited."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = condition()
                if asyncio.iscoroutine(result):
                    result = await result
                if result:
                    return time.monotonic() - started
                await asyncio.sleep(every)  # wait-for-condition: the poll interval of `until` itself
    except TimeoutError:
        raise TimeoutError(f"{what or 'condition'}: not within {timeout} s") from None


def until_blocking(condition: Callable[[], Any], timeout: float = WAIT_S, every: float = EVERY_S) -> None:
    """Block (bounded) until ``condition()`` is true; raise ``TimeoutError`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        time.sleep(every)  # wait-for-condition: the poll interval of `until_blocking` itself


def ahead(clock: Callable[[], float], seconds: float) -> Callable[[], float]:
    """``clock`` running ``seconds`` ahead: a test steps a component (a breaker, a cache) past a wait
    by handing it this, instead of sleeping through the wait."""
    return lambda: clock() + seconds
