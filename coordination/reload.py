"""Hot reload: every gateway process serves each department's active connector version, within seconds.

The database says which version of each department is active; this process compares that with what
it serves and rebuilds only the departments that changed (a replica never rebuilds the other
eighteen). Two triggers: a message on the bus topic ``connectors`` (Redis pub/sub reaches every
replica at once) and polling the database every ``poll_s`` seconds (the only trigger without Redis,
and a safety net with it: a replica that missed a message still converges). A changed department's
cache entries are dropped; requests in flight finish on the old version (see ``Registry.snapshot``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.registry import Registry
from coordination.bus import Bus
from observability.supervisor import stop, supervise
from observability.throttle import ThrottledLog
from store.registrations import active_specs, active_versions

log = logging.getLogger("onestop.reload")
_throttled = ThrottledLog(log)

TOPIC = "connectors"


@dataclass(frozen=True, slots=True)
class Changes:
    """What one reload did: departments (re)built, departments dropped."""

    rebuilt: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rebuilt or self.removed)


@dataclass
class Reloader:
    registry: Registry
    sessions: async_sessionmaker[AsyncSession]
    environ: Mapping[str, str]
    bus: Bus
    poll_s: float = 2.0
    reloads: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _unloadable: dict[str, int] = field(default_factory=dict)  # department -> version that did not load
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def sync(self) -> Changes:
        """Bring this process in line with the store; one sync at a time."""
        async with self._lock:
            wanted = await active_versions(self.sessions)
            served = self.registry.versions()
            changed = {d for d, v in wanted.items() if served.get(d) != v and self._unloadable.get(d) != v}
            removed = tuple(sorted(set(served) - set(wanted)))
            if not changed and not removed:
                return Changes()
            loaded = await active_specs(self.sessions, self.environ, only=changed)
            # a version that does not load (its variable unset here) keeps the old one serving
            self.registry.replace(((a.spec, a.version) for a in loaded), removed=removed)
            rebuilt = tuple(sorted(a.spec.id for a in loaded))
            for department in changed.difference(rebuilt):  # logged once, not at every poll
                self._unloadable[department] = wanted[department]
            for department in (*rebuilt, *removed):
                await self.registry.cache.clear_department(department)
            self.reloads += 1
            log.info("connectors reloaded: %s", ", ".join(f"{d} v{wanted[d]}" for d in rebuilt) or "-")
            if removed:
                log.info("connectors no longer served: %s", ", ".join(removed))
            return Changes(rebuilt, removed)

    async def announce(self, department: str) -> None:
        """Tell every process (this one included) that ``department`` changed."""
        try:
            await self.bus.publish(TOPIC, {"department": department})
        except Exception as exc:  # Redis down: the others still converge by polling
            reason = type(exc).__name__
            _throttled.warning(
                "reload announce",
                "reload: could not announce %s (%s); replicas will poll",
                department,
                reason,
            )

    def start(self) -> None:
        """The poller and the bus listener, supervised: whatever they raise is logged, and they restart."""
        self._tasks = [supervise("reload-poll", self._poll), supervise("reload-listen", self._listen)]

    async def stop(self) -> None:
        await stop(*self._tasks)
        self._tasks = []

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            await self._sync_logged()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.bus.subscribe(TOPIC) as messages:
                    async for _ in messages:
                        await self._sync_logged()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _throttled.warning(
                    "reload bus",
                    "reload: bus subscription failed (%s); polling meanwhile",
                    type(exc).__name__,
                )
                await asyncio.sleep(self.poll_s)

    async def _sync_logged(self) -> None:
        try:
            await self.sync()
        except (SQLAlchemyError, OSError) as exc:  # the store is away: keep serving what we have
            _throttled.warning(
                "reload store",
                "reload: store unavailable (%s); serving the current versions",
                type(exc).__name__,
            )
        except Exception:
            log.exception("reload failed; serving the current versions")
