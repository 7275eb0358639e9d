"""GraphiQL served by the gateway itself: the page works offline in Chromium, runs a query and a
subscription, and asks nothing of any host but the gateway.

The browser test runs a real gateway process and headless Chromium (puppeteer-core) with every host
but loopback unresolvable, as on an intranet or a kiosk; the screenshot is kept under the test's tmp dir
and copied to ``var/artifacts/graphiql.png``. The smaller tests check, in process, who gets the page
and how the assets are served.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from config import PROJECT_ROOT
from mocks.server import RunningMocks
from schema.graphiql import CACHE_FOREVER, PAGE_POLICY, GraphiQLAssets
from tests import tools
from tests.access_support import SECRET, fixture, resident_token
from tests.conftest import DEPARTMENT_IDS, Admin, GatewayFactory
from tests.gateway_process import gateway_process, wait_ready
from tests.live_support import change_status, housing_case, set_webhook, until

pytestmark = pytest.mark.asyncio(loop_scope="session")

PAGE_SCRIPT = tools.JS_DIR / "graphiql_page.mjs"
ARTIFACTS = PROJECT_ROOT / "var" / "artifacts"
WATCH = """subscription Watch {
  caseUpdated(caseIds: [CASE]) {
    case { id status } previousStatus source
  }
}"""
HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # Chromium's


async def test_graphiql_runs_a_query_and_a_subscription_offline_in_chromium(
    mocks: RunningMocks, admin: Admin, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    case = housing_case()
    token = resident_token(fixture("non_pudong_hukou"))
    settings = {"jwt_secret": SECRET, "tune_gc": "false", "case_poll_min_s": "0.3", "case_poll_max_s": "60"}
    with gateway_process(mocks.url, tmp_path, **settings) as gateway:
        await asyncio.to_thread(wait_ready, gateway.url)
        await set_webhook(http, mocks.url, f"{gateway.url}/webhooks")
        options = {
            "url": gateway.url,
            "chromium": tools.chromium(),
            "flags": list(tools.CHROMIUM_FLAGS),
            "userDataDir": str(tmp_path / "chromium-profile"),
            "screenshot": str(tmp_path / "graphiql.png"),
            "headers": json.dumps({"Authorization": f"Bearer {token}"}),
            "query": "{ departments { id nameEn } }",
            "subscription": WATCH.replace("CASE", json.dumps(f"housing:{case.ref}")),
        }
        events = await drive_page(options, lambda: _department_changes(admin, http, mocks.url, case.ref))
        assert gateway.log_problems() == []

    loaded, query, update, done = events["loaded"], events["query"], events["update"], events["done"]
    print(
        f"GraphiQL offline: load event {loaded['loadMs']:.0f} ms, editor {loaded['editorMs']:.0f} ms, "
        f"schema in the explorer {loaded['schemaMs']:.0f} ms"
    )
    assert {d["id"] for d in query["result"]["data"]["departments"]} == DEPARTMENT_IDS
    event = update["result"]["data"]["caseUpdated"]
    assert event["case"] == {"id": f"housing:{case.ref}", "status": "APPROVED"}
    assert event["previousStatus"] == "REJECTED"
    own = urlsplit(gateway.url).netloc
    assert done["requests"], "no request recorded"
    assert [u for u in done["requests"] + done["websockets"] if urlsplit(u).netloc != own] == []
    assert done["websockets"] == [gateway.url.replace("http://", "ws://") + "/graphql"]
    assert done["failed"] == [] and done["consoleErrors"] == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(done["screenshot"], ARTIFACTS / "graphiql.png")


async def drive_page(options: dict[str, Any], on_subscribed: Any) -> dict[str, dict[str, Any]]:
    """Run the page script; when it has started the subscription, ``on_subscribed()`` makes the change."""
    process = await asyncio.create_subprocess_exec(
        tools.node(),
        str(PAGE_SCRIPT),
        json.dumps(options),
        cwd=tools.JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=1 << 20,
    )
    assert process.stdout is not None and process.stderr is not None
    events: dict[str, dict[str, Any]] = {}
    change: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(90):
            async for line in process.stdout:  # read on while the change is made: the page may fail
                message = json.loads(line)
                events[message["event"]] = message
                if message["event"] == "subscribed":
                    change = asyncio.create_task(on_subscribed())
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if change is not None and not change.done():
            change.cancel()
    errors = (await process.stderr.read()).decode()
    assert process.returncode == 0 and "done" in events, f"{errors}\nevents: {list(events)}"
    assert change is not None
    await change
    return events


async def _department_changes(admin: Admin, http: aiohttp.ClientSession, mocks_url: str, ref: str) -> None:
    """Once the gateway watches the resident's housing cases (its baseline read done: housing was asked
    twice), the department changes the case and calls the gateway's webhook."""
    asked = (await admin.paths("housing")).get("/housing/xml/cases", 0)

    async def baseline_done() -> bool:
        return (await admin.paths("housing")).get("/housing/xml/cases", 0) >= asked + 2

    await until(baseline_done, timeout=30)
    answer = await change_status(http, mocks_url, "housing", ref, "APPROVED")
    assert answer["webhook"] == {"status": 202}


async def test_the_page_is_for_browsers_and_a_hash_only_get_is_json(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    page = await gateway.client.get("/graphql", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "unpkg" not in page.text and "cdn" not in page.text.lower() and "https://" not in page.text
    assert "/graphiql/" in page.text and "<script>" not in page.text  # no inline script
    # and the browser itself holds the page to its own origin
    assert page.headers["content-security-policy"] == PAGE_POLICY and "connect-src 'self'" in PAGE_POLICY
    persisted = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": "a" * 64}})
    for headers in (HTML, {"accept": "*/*"}, {}):
        hashed = await gateway.client.get("/graphql", params={"extensions": persisted}, headers=headers)
        assert hashed.headers["content-type"].startswith("application/json"), headers
        assert hashed.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    bare = await gateway.client.get("/graphql", headers={"accept": "*/*"})  # curl: JSON, not the page
    assert bare.headers["content-type"].startswith("application/json")
    assert bare.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    production = await make_gateway(mode="production")  # no GraphiQL: a hash-only GET is still JSON
    hashed = await production.client.get("/graphql", params={"extensions": persisted}, headers=HTML)
    assert hashed.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_assets_are_served_under_their_content_hash_and_cached(make_gateway: GatewayFactory) -> None:
    assets = GraphiQLAssets.load()
    gateway = await make_gateway()
    client = gateway.client
    for name, media in (("graphiql.js", "text/javascript"), ("graphiql.css", "text/css")):
        response = await client.get(assets.url(name), headers={"accept-encoding": "identity"})
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
        assert response.headers["cache-control"] == CACHE_FOREVER
        assert response.content == assets.assets[name].body
        squeezed = await client.get(assets.url(name), headers={"accept-encoding": "gzip"})
        assert squeezed.headers["content-encoding"] == "gzip"  # httpx inflates it again
        assert squeezed.content == response.content
        etag = response.headers["etag"]
        again = await client.get(assets.url(name), headers={"if-none-match": etag})
        assert again.status_code == 304
    licenses = await client.get(assets.url("THIRD-PARTY-LICENSES.txt"))
    assert "graphiql 4." in licenses.text and "react 19." in licenses.text
    stale = await client.get(f"/graphiql/{'0' * 16}/graphiql.js")
    assert stale.status_code == 404  # an old URL never gets new bytes under a year-long cache
    assert (await client.get(f"/graphiql/{assets.version}/server.py")).status_code == 404
    production = await make_gateway(mode="production")
    assert (await production.client.get(assets.url("graphiql.js"))).status_code == 404


async def test_the_bundle_is_built_minified_and_of_a_sane_size() -> None:
    """Sizes (KB) the README quotes; a build that stopped minifying or bundled twice would jump."""
    started = time.perf_counter()
    assets = GraphiQLAssets.load()
    load_ms = (time.perf_counter() - started) * 1000
    sizes = {name: (len(a.body) // 1024, len(a.gzipped) // 1024) for name, a in assets.assets.items()}
    print(f"GraphiQL assets (KB raw, gzip): {sizes}; loaded and gzipped at start in {load_ms:.0f} ms")
    js, css = assets.assets["graphiql.js"].body, assets.assets["graphiql.css"].body
    assert 500_000 < len(js) < 2_500_000 and len(gzip.compress(js)) < 700_000
    assert 50_000 < len(css) < 600_000
    assert len(js) / js.count(b"\n") > 1000  # minified: long lines (newlines left are in strings)
    assert b"unpkg.com" not in js and b"cdn.jsdelivr" not in js and b"esm.sh" not in js
