"""caseUpdated over graphql-transport-ws with the clients Node services and Python integrations use:
the ``graphql-ws`` client in Node (``ws`` as its WebSocket) and ``gql`` with its websockets transport.
Each connects with a token, subscribes, receives an update a department's signed webhook triggered,
completes (the gateway stops watching) and does it again on a new connection; graphql-ws also rides
out a gateway restart. (Chromium: tests/test_clients_browser.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from gql import Client, GraphQLRequest, gql
from gql.transport.websockets import WebsocketsTransport

from mocks.server import RunningMocks
from tests.clients_support import (
    BOUND_MS,
    CASE,
    CASE_ID,
    LATENCIES,
    TOKEN,
    ClientProcess,
    LiveServer,
    Webhooks,
    conformance,
    live,
    live_gateway,
    url_for,
    watched,
)
from tests.conftest import GatewayFactory
from tests.live_support import UPDATED, until
from tests.tools import node

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def node_client() -> AsyncIterator[ClientProcess]:
    client = await ClientProcess.start(node(), "live_client.mjs")
    try:
        await client.ready()
        yield client
    finally:
        await client.close()


async def test_graphql_ws_in_node(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, node_client: ClientProcess
) -> None:
    gateway = await live_gateway(make_gateway)
    async with live(gateway.app) as server:
        webhooks = Webhooks(http, mocks.url, CASE)
        await conformance(node_client, gateway, server, webhooks, "graphql-ws", TOKEN, "node graphql-ws")


# -- gql (Python) ----------------------------------------------------------------------------------


def gql_client(server: LiveServer, token: str) -> Client:
    transport = WebsocketsTransport(
        url=url_for("graphql-ws", server.url),
        init_payload={"Authorization": f"Bearer {token}"},
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
    )
    return Client(transport=transport)


async def test_gql_over_graphql_transport_ws(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway)
    webhooks = Webhooks(http, mocks.url, CASE)
    request = GraphQLRequest(gql(UPDATED), variable_values={"ids": [CASE_ID]})
    async with live(gateway.app) as server:
        for _ in range(2):  # connect, receive, complete; then a new connection does it again
            async with gql_client(server, TOKEN) as session:
                updates = session.subscribe(request)
                waiting = asyncio.ensure_future(anext(updates))
                await until(lambda: watched(gateway))
                sent = await webhooks.change(server.url)
                update = (await waiting)["caseUpdated"]
                latency = LATENCIES.add("gql", sent, time.time() * 1000)
                print(f"gql: webhook -> event {latency:.1f} ms")
                assert update["case"]["id"] == CASE_ID and update["source"] == "WEBHOOK"
                assert latency < BOUND_MS
                await updates.aclose()  # gql sends `complete`
                await until(lambda: not watched(gateway))


# -- Apollo Client, as docs/front-end.md sets it up -------------------------------------------------


async def test_apollo_client_as_the_docs_set_it_up(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway)
    client = await ClientProcess.start(node(), "apollo_client.mjs")
    try:
        await client.ready()
        async with live(gateway.app) as server:
            config = {
                "url": f"{server.url}/graphql",
                "wsUrl": url_for("graphql-ws", server.url),
                "token": TOKEN,
            }
            await client.send("open", config=config)
            await client.expect("opened")
            await client.send("query", query="{ me { cases { id } } }")  # HttpLink, with the token
            result = await client.expect("result")
            assert result["error"] is None, result
            assert CASE_ID in [c["id"] for c in result["data"]["me"]["cases"]]
            await client.send("subscribe", id="a", query=UPDATED, variables={"ids": [CASE_ID]})
            await until(lambda: watched(gateway))  # GraphQLWsLink, the token in connection_init
            sent = await Webhooks(http, mocks.url, CASE).change(server.url)
            event = await client.expect("next", id="a")
            assert event["payload"]["data"]["caseUpdated"]["case"]["id"] == CASE_ID, event
            latency = LATENCIES.add("apollo", sent, event["at"])
            print(f"apollo: webhook -> event {latency:.1f} ms")
            await client.send("unsubscribe", id="a")
            await until(lambda: not watched(gateway))
    finally:
        await client.close()
