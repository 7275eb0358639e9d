"""One origin setting: ``ONESTOP_CORS_ORIGINS`` lets a web app's pages call /graphql, open the
subscription websocket and open event streams; pages of other origins get none of them. The deprecated
``ONESTOP_WS_ALLOWED_ORIGINS`` still lets its origins open the websocket and streams (not call /graphql)."""

from __future__ import annotations

import aiohttp
import pytest
import websockets
from pydantic import ValidationError

from config import Settings
from tests.access_support import SECRET
from tests.clients_support import live
from tests.conftest import GatewayFactory
from tests.live_support import connect

pytestmark = pytest.mark.asyncio(loop_scope="session")

APP = "https://app.pudong.gov.cn"
LEGACY = "https://kiosk.pudong.gov.cn"  # listed only in the deprecated websocket setting
EVIL = "https://evil.example"
QUERY = {"query": "{ __typename }"}


async def opens_websocket(url: str, origin: str) -> bool:
    try:
        async with connect(url, origin=origin):
            return True
    except websockets.InvalidStatus as refused:
        assert refused.response.status_code == 403
        return False


async def opens_stream(http: aiohttp.ClientSession, url: str, origin: str) -> bool:
    headers = {"origin": origin, "accept": "text/event-stream"}
    async with http.post(f"{url}/graphql/stream", json=QUERY, headers=headers) as response:
        if response.status == 403:
            assert (await response.json())["errors"][0]["extensions"]["code"] == "FORBIDDEN_ORIGIN"
            return False
        assert response.status == 200
        return True


async def cors_allows(http: aiohttp.ClientSession, url: str, origin: str) -> bool:
    async with http.post(f"{url}/graphql", json=QUERY, headers={"origin": origin}) as response:
        assert response.status == 200
        return response.headers.get("access-control-allow-origin") == origin


async def test_the_cors_origins_govern_http_websocket_and_event_streams(
    make_gateway: GatewayFactory, http: aiohttp.ClientSession
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET, cors_origins=[APP], ws_allowed_origins=[LEGACY])
    async with live(gateway.app) as server:
        url = server.url
        assert await cors_allows(http, url, APP)
        assert await opens_websocket(url, APP)
        assert await opens_stream(http, url, APP)
        for other in (EVIL, "null"):
            assert not await cors_allows(http, url, other)
            assert not await opens_websocket(url, other)
            assert not await opens_stream(http, url, other)
        # backward compatible: the deprecated list still opens live updates, and only those
        assert await opens_websocket(url, LEGACY)
        assert await opens_stream(http, url, LEGACY)
        assert not await cors_allows(http, url, LEGACY)
        # the gateway's own pages (same origin) and non-browser clients (no Origin) always may
        assert await opens_websocket(url, url)
        assert await opens_stream(http, url, url)
    # a browser may preflight graphql-sse's single-connection requests (PUT, DELETE, the token header)
    for method in ("PUT", "DELETE"):
        preflight = {
            "origin": APP,
            "access-control-request-method": method,
            "access-control-request-headers": "authorization, x-graphql-event-stream-token",
        }
        allowed = await gateway.client.options("/graphql/stream", headers=preflight)
        assert allowed.status_code == 200, allowed.text
        assert method in allowed.headers["access-control-allow-methods"]
        assert "x-graphql-event-stream-token" in allowed.headers["access-control-allow-headers"].lower()
        refused = await gateway.client.options("/graphql/stream", headers=preflight | {"origin": EVIL})
        assert refused.status_code == 400


async def test_origins_are_read_as_browsers_send_them_and_a_url_is_refused_at_start() -> None:
    settings = Settings(cors_origins=["HTTPS://App.Pudong.gov.cn:443"], ws_allowed_origins=[LEGACY])
    assert settings.cors_origins == [APP]  # what a browser's Origin header says, so the checks match
    assert settings.stream_origins == [APP, LEGACY]
    with pytest.raises(ValidationError, match="without a path"):
        Settings(cors_origins=["https://app.pudong.gov.cn/home"])
