"""caseUpdated with the clients front-ends really use, against a real gateway on a real port: the
``graphql-ws`` client in headless Chromium (a real page) and in Node, and Python's ``gql`` over
graphql-transport-ws. Each connects with a token, subscribes, receives an update a department's signed
webhook triggered, completes (the gateway stops watching), reconnects and receives again; the
JavaScript clients also ride out a gateway restart. Latency (webhook call sent -> event in the client)
is measured per transport: ``pytest -rP tests/test_clients_ws.py tests/test_clients_sse.py``."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from gql import Client, GraphQLRequest, gql
from gql.transport.websockets import WebsocketsTransport

from mocks.server import RunningMocks
from tests.access_support import SECRET, fixture, resident_token
from tests.clients_support import LATENCIES, NO_POLL, ClientProcess, LiveServer, Webhooks, live
from tests.conftest import Gateway, GatewayFactory
from tests.live_support import UPDATED, housing_case, until
from tests.tools import CHROMIUM_FLAGS, chromium, node

pytestmark = pytest.mark.asyncio(loop_scope="session")

CASE = housing_case()
CASE_ID = f"housing:{CASE.ref}"
TOKEN = resident_token(fixture("non_pudong_hukou"))
BOUND_MS = 1000.0  # every event, even on a loaded CI machine; the figures are in the report


def watched(gateway: Gateway) -> bool:
    """The gateway watches the resident's housing cases: a subscription is running for them."""
    return gateway.app.state.case_watch.seen(CASE.resident, "housing") is not None


def url_for(kind: str, base: str) -> str:
    return base.replace("http://", "ws://") + "/graphql" if kind == "graphql-ws" else base + "/graphql/stream"


async def update_arrives(
    client: ClientProcess, op: str, webhooks: Webhooks, server: LiveServer, transport: str
) -> float:
    """A department's webhook, and the update it triggers in the client; the latency in ms."""
    sent = await webhooks.change(server.url)
    event = await client.expect("next", id=op)
    assert not event["payload"].get("errors"), event
    update = event["payload"]["data"]["caseUpdated"]
    assert update["case"]["id"] == CASE_ID and update["source"] == "WEBHOOK", update
    latency = LATENCIES.add(transport, sent, event["at"])
    print(f"{transport}: webhook -> event {latency:.1f} ms")
    assert 0 < latency < BOUND_MS
    return latency


async def conformance(
    client: ClientProcess,
    gateway: Gateway,
    server: LiveServer,
    webhooks: Webhooks,
    kind: str,
    token: str,
    transport: str | None = None,
) -> list[float]:
    """Connect with the token, subscribe, an update; complete; reconnect, an update; the gateway
    restarts on the same address, the client reconnects and resubscribes by itself, an update."""
    transport = transport or kind
    client.seen.clear()
    await client.send("open", config={"kind": kind, "url": url_for(kind, server.url), "token": token})
    await client.expect("opened")
    subscription = {"query": UPDATED, "variables": {"ids": [CASE_ID]}}
    await client.send("subscribe", id="1", **subscription)
    await until(lambda: watched(gateway))
    latencies = [await update_arrives(client, "1", webhooks, server, transport)]
    await client.send("unsubscribe", id="1")
    await until(lambda: not watched(gateway))  # complete reached the gateway: nothing left running

    await client.send("subscribe", id="2", **subscription)
    await until(lambda: watched(gateway))
    latencies.append(await update_arrives(client, "2", webhooks, server, transport))

    stopping = time.monotonic()
    await server.stop()
    assert not watched(gateway)  # the connection's subscriptions ended with it
    await server.start()
    print(f"{transport}: gateway restarted in {time.monotonic() - stopping:.2f} s")
    try:
        await until(lambda: watched(gateway))  # the client came back and subscribed again, unasked
    except TimeoutError:
        raise AssertionError(f"not back after the restart: {client.seen[-6:]}") from None
    latencies.append(await update_arrives(client, "2", webhooks, server, transport))
    await client.send("unsubscribe", id="2")
    await until(lambda: not watched(gateway))
    await client.send("close")
    await client.expect("disposed")
    assert client.count("connected") >= 3, client.seen  # first, after complete, after the restart
    assert client.count("error") == 0, client.seen
    return latencies


async def live_gateway(make_gateway: GatewayFactory, **settings: Any) -> Gateway:
    return await make_gateway(jwt_secret=SECRET, **NO_POLL | settings)


# -- graphql-ws in Chromium and in Node ----------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ClientProcess]:
    options = {
        "chromium": chromium(),
        "flags": list(CHROMIUM_FLAGS),
        "userDataDir": str(tmp_path_factory.mktemp("chromium")),
    }
    client = await ClientProcess.start(node(), "browser_client.mjs", json.dumps(options))
    try:
        await client.ready(timeout=30)
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def node_client() -> AsyncIterator[ClientProcess]:
    client = await ClientProcess.start(node(), "live_client.mjs")
    try:
        await client.ready()
        yield client
    finally:
        await client.close()


def page_origin(browser: ClientProcess, which: str = "first") -> str:
    origin: str = browser.hello["origins"][which]
    return origin


async def test_graphql_ws_in_chromium(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, browser: ClientProcess
) -> None:
    # the page is a web app on its own origin, allowed by the one origin setting
    gateway = await live_gateway(make_gateway, cors_origins=[page_origin(browser)])
    async with live(gateway.app) as server:
        webhooks = Webhooks(http, mocks.url, CASE)
        latencies = await conformance(browser, gateway, server, webhooks, "graphql-ws", TOKEN, "chromium")
    # the bar: an event in the browser within 100 ms of the department's webhook
    assert statistics.median(latencies) < 100, latencies


async def test_a_page_on_another_origin_cannot_open_the_websocket(
    make_gateway: GatewayFactory, browser: ClientProcess
) -> None:
    gateway = await live_gateway(make_gateway, cors_origins=[page_origin(browser, "first")])
    async with live(gateway.app) as server:
        config = {"kind": "graphql-ws", "url": url_for("graphql-ws", server.url), "token": TOKEN}
        await browser.send("open", origin="second", config=config | {"retryAttempts": 0})
        await browser.expect("opened")
        await browser.send("subscribe", id="x", query=UPDATED, variables={})
        refused = await browser.expect("error", id="x")
        await browser.send("close")
        await browser.expect("disposed")
    # the handshake was refused (403): the page only sees the socket fail, as browsers report it
    assert refused["error"] == {"type": "error"}
    assert not watched(gateway)


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
