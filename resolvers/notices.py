"""What a response must tell besides its data: departments that failed, and data served stale.

Resolvers record here instead of raising, so one failing department costs only what it owns; the
GraphQL layer turns the notices into ``errors`` (with ``extensions.code`` and ``extensions.department``)
and ``extensions.stale``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.errors import UpstreamCode, UpstreamError
from connectors.resilience import Fetched
from domain.records import OperationResult

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    department: str
    message: str
    path: Path


@dataclass(frozen=True, slots=True)
class Stale:
    department: str
    capability: str
    age_s: float
    reason: str


@dataclass(slots=True)
class Notices:
    failures: list[Failure] = field(default_factory=list)
    stale: list[Stale] = field(default_factory=list)
    # departments' data the response was made of: (department, operation, age in seconds); what the
    # response cache (schema/response_cache.py) keeps an answer for, and how long
    used: list[tuple[str, str, float]] = field(default_factory=list)
    _seen: set[tuple[str, str, str]] = field(default_factory=set)

    def failed(self, error: UpstreamError, path: Path) -> None:
        key = (error.department, error.code.value, error.message)
        if key not in self._seen:  # one failure is told once, however many fields it touched
            self._seen.add(key)
            self.failures.append(Failure(error.code.value, error.department, error.message, path))

    def fetched(
        self, department: str, capability: str, fetched: Fetched[OperationResult[Any]], path: Path
    ) -> None:
        self.used.append((department, capability, fetched.age_s))
        if fetched.stale and fetched.error is not None:
            key = (department, "STALE", capability)
            if key not in self._seen:
                self._seen.add(key)
                self.stale.append(
                    Stale(department, capability, round(fetched.age_s, 1), fetched.error.code.value)
                )
        for problem in fetched.value.problems:
            self.failed(
                UpstreamError(UpstreamCode.BAD_RESPONSE, department, f"{capability}: {problem}"), path
            )
