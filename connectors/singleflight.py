"""Single-flight: identical calls in flight at the same time share one upstream request.

When 50 residents open the catalogue in the same second after the cache expired, the department sees
one request, not 50. The work runs as its own task, so a caller that gives up (a client disconnects)
neither cancels it for the others nor wastes what it fetched: the result still reaches the cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class SingleFlight:
    def __init__(self) -> None:
        self._calls: dict[Hashable, asyncio.Task[Any]] = {}

    def in_flight(self) -> int:
        return len(self._calls)

    async def do(self, key: Hashable, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        task = self._calls.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._calls[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        result: T = await asyncio.shield(task)
        return result

    def _finished(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._calls.get(key) is task:
            del self._calls[key]
        if not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" noise when every waiter left
