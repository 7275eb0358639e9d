"""Live case updates in a real browser: a page on its own origin, in headless Chromium, loads the
``graphql-ws`` and ``graphql-sse`` clients from their published browser builds and receives a case
update a department's webhook triggered, over each transport, within the issue's 100 ms; completes,
reconnects, rides out a gateway restart. A page on an origin not in ``ONESTOP_CORS_ORIGINS`` cannot
open the websocket. One Chromium for the module."""

from __future__ import annotations

import json
import statistics
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from mocks.server import RunningMocks
from tests.clients_support import (
    CASE,
    TOKEN,
    ClientProcess,
    Webhooks,
    conformance,
    live,
    live_gateway,
    url_for,
    watched,
)
from tests.conftest import GatewayFactory
from tests.live_support import UPDATED
from tests.tools import CHROMIUM_FLAGS, chromium, node

pytestmark = pytest.mark.asyncio(loop_scope="session")


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


def page_origin(browser: ClientProcess, which: str = "first") -> str:
    origin: str = browser.hello["origins"][which]
    return origin


@pytest.mark.parametrize("kind", ["graphql-ws", "graphql-sse-single", "graphql-sse-distinct"])
async def test_live_updates_in_chromium(
    kind: str,
    make_gateway: GatewayFactory,
    mocks: RunningMocks,
    http: aiohttp.ClientSession,
    browser: ClientProcess,
) -> None:
    # the page is a web app on its own origin, allowed by the one origin setting (for graphql-sse the
    # browser preflights every request: the Authorization and reservation headers, PUT and DELETE)
    gateway = await live_gateway(make_gateway, cors_origins=[page_origin(browser)])
    async with live(gateway.app) as server:
        webhooks = Webhooks(http, mocks.url, CASE)
        latencies = await conformance(browser, gateway, server, webhooks, kind, TOKEN, f"chromium {kind}")
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
