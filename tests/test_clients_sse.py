"""GraphQL over Server-Sent Events on /graphql/stream: the graphql-sse reference client in Node, in both
modes, receives a case update a department's webhook triggered; and the protocol underneath, spoken by
hand: typed refusals, heartbeats, a client leaving closes its subscription, streams do not hold the
in-flight limit."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from identity.principal import ClientChannel, Role
from identity.tokens import mint
from mocks.server import RunningMocks
from tests.access_support import SECRET, fixture, resident_token
from tests.clients_support import (
    CASE,
    TOKEN,
    ClientProcess,
    Webhooks,
    conformance,
    live,
    live_gateway,
    watched,
)
from tests.conftest import Gateway, GatewayFactory
from tests.live_support import UPDATED, until
from tests.tools import node

pytestmark = pytest.mark.asyncio(loop_scope="session")

OTHER_TOKEN = resident_token(fixture("senior_pudong"))
EVENTS = {"accept": "text/event-stream"}
SUBSCRIBE = {"query": UPDATED, "variables": {"ids": [f"housing:{CASE.ref}"]}}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def node_client() -> AsyncIterator[ClientProcess]:
    client = await ClientProcess.start(node(), "live_client.mjs")
    try:
        await client.ready()
        yield client
    finally:
        await client.close()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# -- the reference client -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["single", "distinct"])
async def test_the_graphql_sse_client_receives_a_webhook_update_completes_and_reconnects(
    mode: str,
    make_gateway: GatewayFactory,
    mocks: RunningMocks,
    http: aiohttp.ClientSession,
    node_client: ClientProcess,
) -> None:
    gateway = await live_gateway(make_gateway)
    async with live(gateway.app) as server:
        await conformance(
            node_client, gateway, server, Webhooks(http, mocks.url, CASE), f"graphql-sse-{mode}", TOKEN
        )
    assert gateway.services.event_streams.current == 0


# -- the protocol by hand -------------------------------------------------------------------------


async def read_events(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, str]]:
    """(event, data) per Server-Sent Event, and ("comment", text) per comment line."""
    event, data = "message", []
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and data:
            yield event, "\n".join(data)
            event, data = "message", []


async def next_event(events: AsyncIterator[tuple[str, str]], timeout: float = 10) -> tuple[str, Any]:
    """The next event (comments skipped), its data decoded."""
    async with asyncio.timeout(timeout):
        async for event, data in events:
            if event != "comment":
                return event, json.loads(data) if data else None
    raise AssertionError("the stream ended")


@contextlib.asynccontextmanager
async def stream(
    http: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[AsyncIterator[tuple[str, str]]]:
    method = "POST" if body is not None else "GET"
    async with http.request(method, url, json=body, headers=EVENTS | (headers or {})) as response:
        assert response.status == 200, await response.text()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield read_events(response)


async def test_distinct_mode_runs_one_operation_errors_are_typed_next_events_bad_tokens_a_401(
    make_gateway: GatewayFactory, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway)
    async with live(gateway.app) as server:
        url = f"{server.url}/graphql/stream"
        async with stream(http, url, {"query": "{ departments { id } }"}) as events:
            event, data = await next_event(events)
            assert event == "next" and len(data["data"]["departments"]) == 19
            assert await next_event(events) == ("complete", None)
        # GET, as a browser's EventSource would (query in the URL)
        async with stream(http, f"{url}?query={{__typename}}") as events:
            assert await next_event(events) == ("next", {"data": {"__typename": "Query"}})
        forged = TOKEN.rsplit(".", 1)[0] + ".AAAA"
        async with http.post(url, json=SUBSCRIBE, headers=EVENTS | bearer(forged)) as response:
            assert response.status == 401
            assert (await response.json())["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        cases: list[tuple[dict[str, Any], dict[str, str], str]] = [
            ({**SUBSCRIBE}, {}, "UNAUTHENTICATED"),  # anonymous: public data only
            ({**SUBSCRIBE}, bearer(OTHER_TOKEN), "FORBIDDEN"),  # someone else's case
            ({"query": "{ nope }"}, {}, "GRAPHQL_VALIDATION_FAILED"),
        ]
        for body, headers, code in cases:
            async with stream(http, url, body, headers) as events:
                event, data = await next_event(events)
                assert event == "next" and data["data"] is None, data
                assert [e["extensions"]["code"] for e in data["errors"]] == [code]
                assert CASE.resident not in json.dumps(data)
                assert await next_event(events) == ("complete", None)
        # decided again while it runs, as on the websocket: a token that expires ends the stream, typed
        short = mint(SECRET, CASE.resident, Role.RESIDENT, ttl_s=1, channel=ClientChannel.APP)
        async with stream(http, url, SUBSCRIBE, bearer(short)) as events:
            event, data = await next_event(events)
            assert event == "next" and [e["extensions"]["code"] for e in data["errors"]] == [
                "UNAUTHENTICATED"
            ]
            assert await next_event(events) == ("complete", None)
        await until(lambda: not watched(gateway))
        async with http.get(url, params={"query": "mutation { __typename }"}, headers=EVENTS) as response:
            assert response.status == 405  # never over GET, as on /graphql
            assert (await response.json())["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
        async with http.post(url, json={"query": "{ __typename }"}) as response:
            assert response.status == 406  # neither a stream nor a reservation: plain JSON is /graphql
            assert (await response.json())["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_single_connection_mode_by_hand(
    make_gateway: GatewayFactory, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway, sse_heartbeat_s=0.2)
    async with live(gateway.app) as server:
        url = f"{server.url}/graphql/stream"
        async with http.put(url, headers=bearer()) as response:
            assert response.status == 201 and response.content_type == "text/plain"
            token = await response.text()
        reserved = {"x-graphql-event-stream-token": token}
        # another caller with the reservation, or a made-up one: unknown
        for headers in (bearer(OTHER_TOKEN), bearer() | {"x-graphql-event-stream-token": "made-up"}):
            async with http.get(url, headers=EVENTS | reserved | headers) as response:
                assert response.status == 404
                assert (await response.json())["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        async with http.post(url, json=SUBSCRIBE, headers=reserved) as response:
            assert response.status == 404  # an operation names its caller: the reservation's maker
        # the stream opened as a browser's EventSource does: the reservation in the URL, no headers
        async with stream(http, f"{url}?token={reserved['x-graphql-event-stream-token']}") as events:
            async with http.get(url, headers=EVENTS | reserved | bearer()) as second:
                assert second.status == 409  # one stream per reservation
            body = {**SUBSCRIBE, "extensions": {"operationId": "op1"}}
            async with http.post(url, json=body, headers=reserved | bearer()) as response:
                assert response.status == 202
            await until(lambda: watched(gateway))
            async with http.post(url, json=body, headers=reserved | bearer()) as response:
                assert response.status == 409  # the id is taken
            async with http.post(
                url, json={"query": "{ __typename }"}, headers=reserved | bearer()
            ) as response:
                assert response.status == 400  # no operationId
            query = {"query": "{ __typename }", "extensions": {"operationId": "op2"}}
            async with http.post(url, json=query, headers=reserved | bearer()) as response:
                assert response.status == 202
            assert await next_event(events) == (
                "next",
                {"id": "op2", "payload": {"data": {"__typename": "Query"}}},
            )
            assert await next_event(events) == ("complete", {"id": "op2"})
            # a quiet stream carries heartbeats
            comments = [data async for event, data in _first(events, 2) if event == "comment"]
            assert comments == ["ping", "ping"]
            async with http.delete(
                url, params={"operationId": "op1"}, headers=reserved | bearer()
            ) as response:
                assert response.status == 200
            await until(lambda: not watched(gateway))  # DELETE closed the subscription's generator
        # the client left: the reservation is gone with it
        await until(lambda: gateway.services.event_streams.current == 0)


async def _first(events: AsyncIterator[tuple[str, str]], n: int) -> AsyncIterator[tuple[str, str]]:
    async with asyncio.timeout(5):
        for _ in range(n):
            yield await anext(events)


async def test_a_client_that_leaves_closes_its_subscription(
    make_gateway: GatewayFactory, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway)
    async with live(gateway.app) as server:
        for mode in ("single", "distinct"):
            await leave(gateway, http, f"{server.url}/graphql/stream", mode)


async def leave(gateway: Gateway, http: aiohttp.ClientSession, url: str, mode: str) -> None:
    """Subscribe in ``mode``, then drop the connection without a word."""
    reserved: dict[str, str] = {}
    if mode == "single":
        async with http.put(url, headers=bearer()) as response:
            reserved = {"x-graphql-event-stream-token": await response.text()}
    async with contextlib.AsyncExitStack() as exits:
        body = SUBSCRIBE if mode == "distinct" else None
        await exits.enter_async_context(stream(http, url, body, reserved | bearer()))
        if mode == "single":
            with_id = {**SUBSCRIBE, "extensions": {"operationId": "op"}}
            async with http.post(url, json=with_id, headers=reserved | bearer()) as response:
                assert response.status == 202
        await until(lambda: watched(gateway))
        assert gateway.services.event_streams.current == 1
    # the connection closed (the client went away): the generator is closed, nothing left watching
    await until(lambda: not watched(gateway))
    await until(lambda: gateway.services.event_streams.current == 0)


async def test_open_streams_do_not_hold_the_in_flight_limit_and_are_bounded_themselves(
    make_gateway: GatewayFactory, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway, max_in_flight=1, sse_max_streams=1)
    async with live(gateway.app) as server:
        url = f"{server.url}/graphql/stream"
        async with stream(http, url, SUBSCRIBE, bearer()):
            await until(lambda: watched(gateway))
            assert gateway.services.guards.inflight.current == 0
            async with http.post(f"{server.url}/graphql", json={"query": "{ __typename }"}) as response:
                assert response.status == 200  # the open stream is not a request in flight
            async with http.post(url, json=SUBSCRIBE, headers=EVENTS | bearer()) as response:
                assert response.status == 503  # but streams have their own bound
                assert (await response.json())["errors"][0]["extensions"]["code"] == "OVERLOADED"
            async with http.put(url, headers=bearer()) as response:
                assert response.status == 503
        big = {"query": "{ __typename }", "variables": {"pad": "x" * 70_000}}
        async with http.post(url, json=big, headers=EVENTS) as response:
            assert response.status == 413  # the body limit guards the stream route too


async def test_a_reservation_no_stream_claims_expires_with_its_operations(
    make_gateway: GatewayFactory, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("schema.sse.RESERVATION_S", 0.3)
    gateway = await live_gateway(make_gateway)
    async with live(gateway.app) as server:
        url = f"{server.url}/graphql/stream"
        async with http.put(url, headers=bearer()) as response:
            reserved = {"x-graphql-event-stream-token": await response.text()}
        body = {**SUBSCRIBE, "extensions": {"operationId": "op"}}
        async with http.post(url, json=body, headers=reserved | bearer()) as response:
            assert response.status == 202  # runs, its events wait for the stream
        await until(lambda: watched(gateway))
        # nobody opens the stream: PUTs cannot pile up reservations, nor their operations run on
        await until(lambda: gateway.services.event_streams.current == 0)
        await until(lambda: not watched(gateway))
        async with http.get(url, headers=EVENTS | reserved | bearer()) as response:
            assert response.status == 404
