"""Automatic persisted queries as Apollo clients expect: a hash with its query registers the document,
then the hash alone runs it, on every process sharing Redis; locked channels register nothing.

The first test is Apollo Client's own persisted-query link (Node) against two real gateway processes
sharing Redis, counting HTTP requests: the first query costs two, every later one one, also on the
other process. The others pin the rules in process: what is registered, what is not, the bounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from mocks.server import RunningMocks
from schema.apq import Bounds, MemoryDocuments, RedisDocuments
from schema.persisted import sha256_hex
from tests import tools
from tests.conftest import TEST_NAMESPACE, Gateway, GatewayFactory
from tests.gateway_process import GatewayProcess, gateway_process, wait_ready

pytestmark = pytest.mark.asyncio(loop_scope="session")

APOLLO_SCRIPT = tools.JS_DIR / "apq_apollo.mjs"
QUERY = "{ departments { id } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@contextlib.contextmanager
def two_processes(mocks_url: str, directory: Path, **settings: str) -> Iterator[list[GatewayProcess]]:
    with contextlib.ExitStack() as stack:
        processes = []
        for name in ("a", "b"):
            (directory / name).mkdir()
            processes.append(stack.enter_context(gateway_process(mocks_url, directory / name, **settings)))
        yield processes


async def test_apollo_clients_pay_two_round_trips_once_on_every_process(
    mocks: RunningMocks, redis_url: str, tmp_path: Path
) -> None:
    settings = {"redis_url": redis_url, "namespace": TEST_NAMESPACE, "tune_gc": "false"}
    with two_processes(mocks.url, tmp_path, **settings) as (first, second):
        await asyncio.gather(*(asyncio.to_thread(wait_ready, p.url) for p in (first, second)))
        process = await asyncio.create_subprocess_exec(
            tools.node(),
            str(APOLLO_SCRIPT),
            json.dumps({"first": first.url, "second": second.url}),
            cwd=tools.JS_DIR,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        assert first.log_problems() == [] and second.log_problems() == []
    steps: dict[str, Any] = json.loads(out)["steps"]
    trips = {name: [(r["method"], r["withQuery"]) for r in s["requests"]] for name, s in steps.items()}
    print("APQ round trips per query (method, query text sent):", json.dumps(trips))
    assert all(s["departments"] > 0 for s in steps.values())
    # the first time: the hash alone (PersistedQueryNotFound), then hash and text, which registers
    assert trips["firstQuery"] == [("POST", False), ("POST", True)]
    assert steps["firstQuery"]["requests"][0]["withHash"]
    # from then on the hash alone, by POST or by GET, on this process and on the other one
    assert trips["sameQueryAgain"] == trips["sameQueryNewClient"] == [("POST", False)]
    assert trips["getFirstQuery"] == [("GET", False), ("POST", True)]
    assert trips["getAgain"] == [("GET", False)]
    assert trips["otherProcess"] == [("POST", False)]
    assert trips["otherProcessGet"] == [("GET", False)]


def apq(digest: str, query: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}
    if query is not None:
        body["query"] = query
    return body


async def send(gateway: Gateway, body: Any, channel: str = "app", accept: str = "*/*") -> httpx.Response:
    headers = {"x-onestop-channel": channel, "accept": accept}
    return await gateway.client.post("/graphql", json=body, headers=headers)


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["errors"][0]
    return error


async def test_the_protocol_step_by_step(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    digest = sha256_hex(QUERY)
    miss = await send(gateway, apq(digest))
    assert miss.status_code == 200 and "data" not in miss.json()
    # exactly what Apollo's link looks for (by message or by code)
    assert error_of(miss) == {
        "message": "PersistedQueryNotFound",
        "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
    }
    registered = await send(gateway, apq(digest, QUERY))
    assert registered.json()["data"]["departments"]
    by_post = await send(gateway, apq(digest), channel="wechat")  # any unlocked channel
    assert by_post.json()["data"]["departments"]
    extensions = json.dumps(apq(digest)["extensions"])
    for accept in ("*/*", GRAPHQL_RESPONSE, "text/html,*/*;q=0.8"):
        params, headers = {"extensions": extensions}, {"accept": accept}
        by_get = await gateway.client.get("/graphql", params=params, headers=headers)
        assert by_get.status_code == 200, accept
        assert not by_get.headers["content-type"].startswith("text/html"), accept
        assert by_get.json()["data"]["departments"], accept


async def test_what_is_not_registered(make_gateway: GatewayFactory, tmp_path: Path) -> None:
    persisted = tmp_path / "persisted"
    persisted.mkdir()
    gateway = await make_gateway(persisted_dir=persisted, trusted_documents_kiosk=True)
    # a text that is not the hash's: refused, and nothing is kept under the hash
    lying = await send(gateway, apq(sha256_hex(QUERY), "{ departments { id name } }"))
    assert error_of(lying)["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    # a document that does not validate: its errors, and not kept
    invalid = "{ noSuchField }"
    answer = await send(gateway, apq(sha256_hex(invalid), invalid))
    assert error_of(answer)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    # a locked channel registers nothing and runs nothing registered by others
    kiosk = await send(gateway, apq(sha256_hex(QUERY), QUERY), channel="kiosk")
    assert error_of(kiosk)["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert (await send(gateway, apq(sha256_hex(QUERY), QUERY), channel="app")).json()["data"]
    assert error_of(await send(gateway, apq(sha256_hex(QUERY)), channel="kiosk"))["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )
    for digest in (sha256_hex(QUERY), sha256_hex("{ departments { id name } }"), sha256_hex(invalid)):
        documents = gateway.services.documents
        expected = QUERY if digest == sha256_hex(QUERY) else None
        assert await documents.get(digest) == expected


async def test_registration_can_be_turned_off(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(apq_max_documents=0)
    assert (await send(gateway, apq(sha256_hex(QUERY), QUERY))).json()["data"]
    assert error_of(await send(gateway, apq(sha256_hex(QUERY))))["extensions"]["code"] == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


async def test_memory_documents_are_bounded_in_count_size_and_time() -> None:
    now = [0.0]
    documents = MemoryDocuments(Bounds(max_documents=2, max_bytes=64, ttl_s=10), clock=lambda: now[0])
    for n in range(3):
        await documents.put(f"h{n}", f"{{ q{n} }}")
    assert len(documents) == 2 and await documents.get("h0") is None  # the oldest went first
    assert await documents.get("h2") == "{ q2 }"
    await documents.put("big", "x" * 65)
    assert await documents.get("big") is None
    now[0] = 10.0
    assert await documents.get("h2") is None  # expired


async def test_redis_documents_are_shared_and_bounded(redis_url: str) -> None:
    bounds = Bounds(max_documents=3, max_bytes=64, ttl_s=30)
    one = RedisDocuments(redis_url, TEST_NAMESPACE, bounds)
    other = RedisDocuments(redis_url, TEST_NAMESPACE, bounds)
    redis = Redis.from_url(redis_url)
    try:
        for n in range(5):
            await one.put(f"h{n}", f"{{ q{n} }}")
        assert await other.get("h4") == "{ q4 }"  # another process's registration
        kept = [n for n in range(5) if await other.get(f"h{n}") is not None]
        assert len(kept) == 3 and 4 in kept
        assert await redis.zcard(f"{TEST_NAMESPACE}:apq:index") == 3
        assert 0 < await redis.ttl(f"{TEST_NAMESPACE}:apq:doc:h4") <= 30
        await one.put("big", "x" * 65)
        assert await other.get("big") is None
    finally:
        await redis.aclose()
        await one.close()
        await other.close()


async def test_redis_failing_costs_round_trips_not_requests(caplog: pytest.LogCaptureFixture) -> None:
    from tests.gateway_process import free_port

    documents = RedisDocuments(f"redis://127.0.0.1:{free_port()}/0", TEST_NAMESPACE, Bounds(10, 64, 30))
    try:
        await documents.put("h", "{ q }")
        assert await documents.get("h") is None
    finally:
        await documents.close()
    assert "Redis failed" in caplog.text
