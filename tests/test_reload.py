"""Hot reload inside one process and between processes sharing a store: only changed departments are
rebuilt, caches of a changed department are dropped, requests in flight finish on the old version and
then its session closes, and no request fails while reloads happen under load."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors import registry as registry_module
from connectors.cache import ResponseCache
from coordination.reload import Changes, Reloader
from store.registrations import register
from tests.conftest import Admin, Gateway, GatewayFactory
from tests.onboarding_support import (
    ARCHIVES_IDS,
    EXAMPLE,
    SECRET,
    SERVICES,
    archive_ids,
    archives_url,  # noqa: F401 (fixture)
    operator,
    version_two,
)
from tests.onboarding_support import register as register_over_graphql
from tests.waiting import until


def reloader(gateway: Gateway) -> Reloader:
    found: Reloader = gateway.services.reloader
    return found


@pytest.fixture
async def with_archives_env(archives_url: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    monkeypatch.setenv("ARCHIVES_URL", archives_url)
    return archives_url


async def test_a_reload_rebuilds_only_the_departments_that_changed(
    make_gateway: GatewayFactory, with_archives_env: str
) -> None:
    gateway = await make_gateway()
    before = {d.id: d for d in gateway.services.registry.all()}
    assert await reloader(gateway).sync() == Changes()  # nothing changed: nothing rebuilt
    await register(gateway.services.sessions, EXAMPLE, "it@archives", reloader(gateway).environ)
    assert await reloader(gateway).sync() == Changes(rebuilt=("archives",))
    after = {d.id: d for d in gateway.services.registry.all()}
    assert set(after) == set(before) | {"archives"}
    assert all(after[d] is before[d] for d in before)  # the other nineteen: the very same objects


async def test_a_version_that_does_not_load_here_keeps_the_old_one_serving(
    make_gateway: GatewayFactory, with_archives_env: str, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await make_gateway()
    sessions, environ = gateway.services.sessions, reloader(gateway).environ
    await register(sessions, EXAMPLE, "it", environ)
    await reloader(gateway).sync()
    needs_secret = EXAMPLE.replace("${ARCHIVES_APP_KEY:-archives-dev-key}", "${ARCHIVES_APP_KEY_V2}")
    await register(sessions, needs_secret, "it", {**environ, "ARCHIVES_APP_KEY_V2": "set where registered"})
    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            assert await reloader(gateway).sync() == Changes()
    assert gateway.services.registry.get("archives").version == 1
    assert (
        len([r for r in caplog.records if "does not load" in r.getMessage()]) == 1
    )  # said once, not per poll


async def test_a_changed_departments_cache_is_dropped_and_only_its_own(tmp_path: Path) -> None:
    cache = ResponseCache("memory://", namespace="t")
    for key in ("archives:abc:catalog", "archives-east:abc:catalog", "commerce:def:catalog"):
        await cache.backend.set(cache._key(key), "cached")
    await cache.clear_department("archives")
    assert await cache.backend.get("t:archives:abc:catalog") is None
    assert await cache.backend.get("t:archives-east:abc:catalog") == "cached"
    assert await cache.backend.get("t:commerce:def:catalog") == "cached"


async def test_a_rollback_does_not_serve_what_the_replaced_version_cached(
    make_gateway: GatewayFactory, with_archives_env: str
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    await register_over_graphql(gateway, EXAMPLE, operator())
    assert archive_ids(await gateway.query(SERVICES)) == ARCHIVES_IDS  # now cached
    cache = gateway.services.cache
    prefix = f"{cache.namespace}:archives:"
    assert any(k.startswith(prefix) for k in cache.backend._cache)
    await register_over_graphql(gateway, version_two(), operator())
    assert not any(k.startswith(prefix) for k in cache.backend._cache)
    assert any(k.startswith(f"{cache.namespace}:commerce:") for k in cache.backend._cache)  # others kept


async def test_two_processes_sharing_a_store_converge_by_polling(
    make_gateway: GatewayFactory, with_archives_env: str, tmp_path: Path
) -> None:
    shared = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first = await make_gateway(jwt_secret=SECRET, database_url=shared, reload_poll_s=0.2)
    second = await make_gateway(jwt_secret=SECRET, database_url=shared, reload_poll_s=0.2)
    await register_over_graphql(first, EXAMPLE, operator())  # LocalBus: the second hears nothing
    await until(lambda: second.services.registry.get("archives") is not None, timeout=5)
    assert archive_ids(await second.query(SERVICES)) == ARCHIVES_IDS


async def test_a_request_in_flight_finishes_on_the_old_version_then_its_session_closes(
    make_gateway: GatewayFactory, admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry_module, "RETIRE_GRACE_S", 0.0)
    monkeypatch.setattr(registry_module, "RETIRE_POLL_S", 0.05)
    gateway = await make_gateway(cache_url="none://", policy={"timeout_s": 3, "deadline_s": 4})
    registry = gateway.services.registry
    old = registry.get("commerce")
    await admin.fault("commerce", latency_ms=800)
    request = asyncio.create_task(gateway.query(SERVICES))
    await until(lambda: old.resilience.in_flight)  # the slow call to commerce is on its way
    registry.replace([(old.spec, old.version + 1)])  # a reload replaces commerce meanwhile
    assert registry.get("commerce") is not old
    assert not old.transport._session.closed
    # the retirer looks every 0.05 s, without grace: had it closed the session under the request, the
    # request would fail; it is still answering the request that began on it
    body = await request
    assert "errors" not in body, body["errors"]
    assert any(e["node"]["department"]["id"] == "commerce" for e in body["data"]["services"]["edges"])
    await until(lambda: old.transport._session.closed, timeout=2)  # then it was closed


async def test_no_request_fails_while_reloads_happen_under_load(
    make_gateway: GatewayFactory, with_archives_env: str
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET, cache_url="none://")  # every request asks upstream
    await register_over_graphql(gateway, EXAMPLE, operator())
    failures: list[Any] = []
    answered = 0
    stop = asyncio.Event()

    async def client() -> None:
        nonlocal answered
        while not stop.is_set():
            body = await gateway.query(SERVICES)
            answered += 1
            if body.get("errors") or archive_ids(body) != ARCHIVES_IDS:
                failures.append(body.get("errors") or archive_ids(body))

    def busy_since(since: int) -> Callable[[], bool]:
        return lambda: answered >= since + 4

    clients = [asyncio.create_task(client()) for _ in range(8)]
    try:
        for text in (version_two(), EXAMPLE, version_two(), EXAMPLE, version_two()):  # five reloads
            await until(busy_since(answered))  # the clients are busy before each reload
            result = await register_over_graphql(gateway, text, operator())
            assert result["data"]["registerConnector"]["outcome"] in ("ACTIVE", "UNCHANGED"), result
    finally:
        stop.set()
        await asyncio.gather(*clients)
    assert failures == []
    assert answered >= 20, answered  # at least four answers before each of the five reloads
    assert gateway.services.reloader.reloads >= 5
