"""Access decisions are memoized per HTTP request, never for a websocket's connection-long context."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.requests import Request

from access.policy import Acting, Purpose
from connectors.cache import ResponseCache
from connectors.registry import Registry
from identity.principal import Principal, Role
from schema.context import Context

RESIDENT = Principal("310115195601011234", Role.RESIDENT)


class CountingPolicy:
    def __init__(self) -> None:
        self.calls = 0

    async def acting_for(self, principal: Any, resident: str | None, purpose: Purpose) -> Acting:
        self.calls += 1
        return Acting(principal, principal.subject, None, purpose, "resident-digest", "actor-digest")


def _context(policy: CountingPolicy, **fields: Any) -> Context:
    # only the policy is asked: the one part of Services this test needs, counting its calls
    services = SimpleNamespace(access=SimpleNamespace(policy=policy))
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
    return Context(Registry(ResponseCache("none://")), services, request, principal=RESIDENT, **fields)  # type: ignore[arg-type]


async def test_one_http_request_decides_once_per_resident_and_purpose() -> None:
    policy = CountingPolicy()
    context = _context(policy)
    for _ in range(3):
        await context.acting_for(None, Purpose.CASES)
    await context.acting_for(None, Purpose.BILLS)
    assert policy.calls == 2


async def test_a_websocket_context_decides_again_for_every_operation() -> None:
    policy = CountingPolicy()
    context = _context(policy, memoize_access=False)
    for _ in range(3):
        await context.acting_for(None, Purpose.CASES)
    assert policy.calls == 3
