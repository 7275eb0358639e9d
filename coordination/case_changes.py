"""A case's status change as it travels on the bus, and the ledger that lets each change out once.

A change may be seen twice — by a poller and by a department's webhook, or by pollers on two gateway
processes — yet subscribers must hear it once. Each change has a key (department, reference, the
department's own status word, when the department says it changed); the first publisher to claim the
key in the ledger publishes, the others stay silent. The ledger is Redis (``SET NX EX``) when the bus
is Redis, so the claim holds across processes, and an in-process dict otherwise.

Messages carry the resident's digest, never the ID number: the topic is per resident
(``cases.<digest>``), so a process subscribes only to the residents its clients watch.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from coordination.bus import Bus, Message, RedisBus
from domain.records import CaseRecord
from identity.digest import Digester
from observability.throttle import ThrottledLog

log = logging.getLogger("onestop.cases.live")
_throttled = ThrottledLog(log)  # during an outage: one line per kind, then a count every few seconds

Source = Literal["POLL", "WEBHOOK"]
LEDGER_TTL_S = 600  # a change claimed this long ago is forgotten; the same change twice within it is one


def topic_for(resident_digest: str) -> str:
    return f"cases.{resident_digest}"


@dataclass(frozen=True, slots=True)
class CaseChange:
    department: str
    ref: str
    resident_digest: str
    status: str  # canonical CaseStatus value
    department_status: str
    at: str  # when the department says the case changed (ISO 8601), "" when it does not say
    previous_status: str | None
    source: Source

    @property
    def case_id(self) -> str:
        return f"{self.department}:{self.ref}"

    @property
    def key(self) -> str:
        """The same change seen by any source on any process has this key."""
        raw = f"{self.department}\x00{self.ref}\x00{self.department_status}\x00{self.at}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def to_message(self) -> Message:
        return {
            "department": self.department,
            "ref": self.ref,
            "resident": self.resident_digest,
            "status": self.status,
            "department_status": self.department_status,
            "at": self.at,
            "previous_status": self.previous_status,
            "source": self.source,
            "published_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }

    @classmethod
    def from_message(cls, message: Message) -> CaseChange | None:
        """The change a bus message describes; None for a message that is not one (ignored)."""
        try:
            source = message["source"]
            if source not in ("POLL", "WEBHOOK"):
                return None
            previous = message.get("previous_status")
            return cls(
                department=str(message["department"]),
                ref=str(message["ref"]),
                resident_digest=str(message["resident"]),
                status=str(message["status"]),
                department_status=str(message["department_status"]),
                at=str(message["at"]),
                previous_status=None if previous is None else str(previous),
                source=source,
            )
        except (KeyError, TypeError):
            return None


def change_of(
    record: CaseRecord, previous: CaseRecord | None, source: Source, digester: Digester
) -> CaseChange:
    return CaseChange(
        department=record.department,
        ref=record.id,
        resident_digest=digester.of(record.resident_id),
        status=record.status.value,
        department_status=record.department_status,
        at=stamp(record),
        previous_status=None if previous is None else previous.status.value,
        source=source,
    )


def stamp(record: CaseRecord) -> str:
    return "" if record.updated_at is None else record.updated_at.isoformat()


def same_state(a: CaseRecord, b: CaseRecord) -> bool:
    """Nothing a watcher would call a change: same status words, same time of change."""
    return (a.status, a.department_status, stamp(a)) == (b.status, b.department_status, stamp(b))


class Ledger(Protocol):
    async def claim(self, key: str) -> bool:
        """True for the first claim of ``key`` (within ``LEDGER_TTL_S``), False for every later one."""


class LocalLedger:
    def __init__(self, ttl_s: float = LEDGER_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock  # tests pass their own to step past a claim's time
        self._claimed: dict[str, float] = {}

    async def claim(self, key: str) -> bool:
        now = self.clock()
        if len(self._claimed) > 10_000:  # bounded: forget what has expired
            self._claimed = {k: t for k, t in self._claimed.items() if now - t < self.ttl_s}
        claimed_at = self._claimed.get(key)
        if claimed_at is not None and now - claimed_at < self.ttl_s:
            return False
        self._claimed[key] = now
        return True


class LedgerUnavailable(RuntimeError):
    """The shared ledger could not be asked (Redis away) and this ledger fails closed."""


class RedisLedger:
    """Claims shared by every process through Redis (``SET NX EX``).

    When Redis fails, a ledger that fails open (``fail_open=True``: case changes — better heard twice
    than lost, subscribers drop repeats) answers "first"; one that fails closed (webhook replay
    protection: accepting a replayed call is the attack) raises ``LedgerUnavailable``.
    """

    def __init__(self, redis: Redis, prefix: str, ttl_s: int = LEDGER_TTL_S, fail_open: bool = True) -> None:
        self.redis = redis
        self.prefix = prefix + ":"
        self.ttl_s = ttl_s
        self.fail_open = fail_open

    async def claim(self, key: str) -> bool:
        try:
            return bool(await self.redis.set(self.prefix + key, b"1", nx=True, ex=self.ttl_s))
        except (RedisError, OSError, TimeoutError) as exc:
            if not self.fail_open:
                _throttled.warning(
                    f"ledger closed {self.prefix}",
                    "ledger %s: Redis failed (%s); refusing claims until it is back",
                    self.prefix.rstrip(":"),
                    type(exc).__name__,
                )
                raise LedgerUnavailable(type(exc).__name__) from exc
            _throttled.warning(
                f"ledger open {self.prefix}",
                "ledger %s: Redis failed (%s); publishing unclaimed",
                self.prefix.rstrip(":"),
                type(exc).__name__,
            )
            return True


def ledger_for(
    bus: Bus | Any,
    namespace: str,
    name: str = "case-change",
    ttl_s: int = LEDGER_TTL_S,
    fail_open: bool = True,
) -> Ledger:
    """Shared through the bus's Redis when there is one, else this process's own."""
    if isinstance(bus, RedisBus):
        return RedisLedger(bus.redis, f"{namespace}:{name}", ttl_s, fail_open)
    return LocalLedger(ttl_s)


class ChangePublisher:
    """Publishes each change once on the bus, whoever saw it first."""

    def __init__(self, bus: Bus, ledger: Ledger, digester: Digester) -> None:
        self.bus = bus
        self.ledger = ledger
        self.digester = digester  # topics are cases.<keyed digest>: the same on every process
        self.published = 0
        self.suppressed = 0

    async def publish(self, change: CaseChange) -> bool:
        if not await self.ledger.claim(change.key):
            self.suppressed += 1
            return False
        try:
            await self.bus.publish(topic_for(change.resident_digest), change.to_message())
        except (RedisError, OSError, TimeoutError) as exc:  # at-most-once: lost, logged (throttled)
            _throttled.warning(
                "bus publish", "case change not published: bus failed (%s)", type(exc).__name__
            )
            return False
        self.published += 1
        log.info(
            "case %s at %s is now %s (%s)",
            change.ref,
            change.department,
            change.status,
            change.source.lower(),
        )
        return True
