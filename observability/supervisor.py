"""Background tasks that never die silently: an exception is logged and the task restarted, with backoff.

An ``asyncio`` task that raises is gone: it logs "Task exception was never retrieved" at garbage
collection, if ever, and whatever it did (listening on the bus, polling the store) stops for the life
of the process — a Redis outage left the bus listener dead this way. ``supervise(name, run)`` runs
``run()`` in a task and, when it raises, logs it (one line per restart, throttled per task during a
storm) and starts it again after a backoff that doubles from ``min_backoff_s`` to ``max_backoff_s`` and
resets once a run lasted ``healthy_s``. A run that returns normally ends the task (its work is done);
cancelling the task stops it. Standard library only: any layer may use it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from observability.throttle import ThrottledLog

log = logging.getLogger("onestop.tasks")
_throttled = ThrottledLog(log)


async def _supervised(
    name: str,
    run: Callable[[], Awaitable[None]],
    min_backoff_s: float,
    max_backoff_s: float,
    healthy_s: float,
) -> None:
    backoff = min_backoff_s
    while True:
        started = time.monotonic()
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if time.monotonic() - started >= healthy_s:
                backoff = min_backoff_s
            _throttled.warning(
                f"task {name}",
                "background task %s failed (%s: %s); restarting in %.1fs",
                name,
                type(exc).__name__,
                exc,
                backoff,
                exc_info=True,
            )
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff_s)


def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    *,
    min_backoff_s: float = 0.5,
    max_backoff_s: float = 30.0,
    healthy_s: float = 60.0,
) -> asyncio.Task[None]:
    """A task running ``run()`` until it returns, restarted with backoff whenever it raises."""
    return asyncio.create_task(
        _supervised(name, run, min_backoff_s, max_backoff_s, healthy_s), name=f"onestop-{name}"
    )


async def stop(*tasks: asyncio.Task[None] | None) -> None:
    """Cancel ``tasks`` and wait for them to end (their exceptions retrieved, never left dangling)."""
    running = [t for t in tasks if t is not None]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
