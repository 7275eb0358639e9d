"""Issue 14's findings, each tried as the attack: a request never ends in a 500, and refuses cleanly."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry

from connectors.records import OperationResult
from connectors.resilience import Fetched
from resolvers.loaders import Loaders
from resolvers.notices import Notices
from schema.errors import Schema
from tests.access_support import bearer, fixture, resident_gateway, resident_token
from tests.conftest import GatewayFactory
from tests.live_support import until

pytestmark = pytest.mark.asyncio


# -- finding 1: a bad argument beside a fan-out cancels nothing into a 500 --------------------------

CANCELLING = [
    "{ services(first:1) { totalCount } me { eligibility { outcome } accessLog(first:-1) { at } } }",
    '{ service(id:"GH-001") { id } me { eligibility { outcome } accessLog(first:-1) { at } } }',
]


@pytest.mark.parametrize("query", CANCELLING)
async def test_a_bad_argument_beside_a_fan_out_is_a_typed_error_not_a_500(
    make_gateway: GatewayFactory, query: str
) -> None:
    gateway = await resident_gateway(make_gateway)
    token = resident_token(fixture("senior_pudong"))
    response = await gateway.client.post("/graphql", json={"query": query}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    # the bad argument's error, typed and naming it; nothing cancelled shows up as an error of its own
    assert [(e["extensions"]["code"], e["path"]) for e in body["errors"]] == [
        ("BAD_USER_INPUT", ["me", "accessLog"])
    ], body
    assert body["errors"][0]["extensions"]["argument"] == "first"
    # `me` is non-null, so the spec nulls `data` (graphql-core then cancels the sibling fan-out)
    assert body["data"] is None


async def test_a_waiter_cancelled_leaves_a_shared_department_answer_to_the_others() -> None:
    """The mechanism: two fields share one DataLoader future; cancelling one cancels only that one."""
    release = asyncio.Event()
    registry = _OneDepartment(release)
    loaders = Loaders(registry, Notices())  # type: ignore[arg-type]
    cancelled = asyncio.ensure_future(loaders.gather(loaders.catalog, "catalog", ["dept"], ("a",)))
    survivor = asyncio.ensure_future(loaders.gather(loaders.catalog, "catalog", ["dept"], ("b",)))
    await until(lambda: registry.calls == 1)
    cancelled.cancel()
    release.set()
    assert await asyncio.wait_for(survivor, 2) == ["record"]
    assert cancelled.cancelled()
    assert not loaders.notices.failures


@dataclass
class _Adapter:
    release: asyncio.Event
    owner: _OneDepartment

    async def run(self, capability: str) -> Fetched[OperationResult[str]]:
        self.owner.calls += 1
        await self.release.wait()
        return Fetched(OperationResult(("record",)))


class _OneDepartment:
    def __init__(self, release: asyncio.Event) -> None:
        self.calls = 0
        self.adapter = _Adapter(release, self)

    def get(self, department_id: str) -> _OneDepartment:
        return self


async def test_a_stray_cancellation_in_a_resolver_is_a_typed_error_not_an_exception() -> None:
    """The last shield (``schema.errors.Schema.execute``): whatever the field, never a 500."""

    @strawberry.type
    class Query:
        @strawberry.field
        async def broken(self) -> int:
            raise asyncio.CancelledError  # as a shared future cancelled by another field delivers it

    result = await Schema(query=Query).execute("{ broken }")
    assert result.errors is not None
    assert [e.extensions for e in result.errors] == [{"code": "INTERNAL_SERVER_ERROR"}]


async def test_a_real_cancellation_of_the_request_still_propagates() -> None:
    started = asyncio.Event()

    @strawberry.type
    class Query:
        @strawberry.field
        async def slow(self) -> int:
            started.set()
            await asyncio.Event().wait()
            return 1

    task = asyncio.ensure_future(Schema(query=Query).execute("{ slow }"))
    await asyncio.wait_for(started.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
