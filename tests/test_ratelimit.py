"""Rate limits per client and per channel: 429 + Retry-After, buckets refill, memory and Redis backends."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from identity.principal import ClientChannel, Role
from identity.tokens import mint
from middleware.buckets import Bucket, MemoryBuckets, RedisBuckets
from tests.conftest import TEST_NAMESPACE, Gateway, GatewayFactory
from tests.waiting import until

SECRET = "a-test-secret-of-at-least-thirty-two-bytes"
QUERY = {"query": "{ __typename }"}
RESIDENT = "310115195511250019"


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Gateway settings for each bucket store: this process's memory, or the real Redis."""
    if request.param == "memory":
        return {}
    from tests.conftest import fresh_redis

    return {"redis_url": await fresh_redis()}


async def client_for(gateway: Gateway, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=gateway.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://onestop.test")


async def statuses(client: httpx.AsyncClient, count: int, **headers: str) -> list[int]:
    return [(await client.post("/graphql", json=QUERY, headers=headers)).status_code for _ in range(count)]


async def test_each_client_ip_has_its_own_bucket(
    make_gateway: GatewayFactory, backend: dict[str, Any]
) -> None:
    gateway = await make_gateway(rate_limit_client=1, rate_limit_client_burst=3, **backend)
    async with await client_for(gateway, "10.0.0.1") as one, await client_for(gateway, "10.0.0.2") as two:
        assert await statuses(one, 3) == [200, 200, 200]
        refused = await one.post("/graphql", json=QUERY)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["scope"] == "client"
        assert 0 < error["extensions"]["retryAfterSeconds"] <= 1.0
        assert await statuses(two, 3) == [200, 200, 200]  # another client is untouched
    assert gateway.services.guards.rate_limits.refused["client"] == 1


async def test_a_token_subject_is_the_client_wherever_it_connects_from(
    make_gateway: GatewayFactory, backend: dict[str, Any]
) -> None:
    gateway = await make_gateway(rate_limit_client=1, rate_limit_client_burst=2, jwt_secret=SECRET, **backend)
    token = {"authorization": f"Bearer {mint(SECRET, RESIDENT, Role.RESIDENT)}"}
    async with await client_for(gateway, "10.0.0.1") as home, await client_for(gateway, "10.0.0.2") as work:
        assert await statuses(home, 2, **token) == [200, 200]
        assert await statuses(work, 1, **token) == [429]  # same resident, other address: same bucket
        assert await statuses(work, 1) == [200]  # the address itself, without the token, is another client
    if "redis_url" in backend:  # the key names a digest, never the ID number
        from redis.asyncio import Redis

        redis = Redis.from_url(backend["redis_url"])
        keys = [k.decode() for k in await redis.keys(f"{TEST_NAMESPACE}:ratelimit:*")]
        await redis.aclose()
        assert keys and not any(RESIDENT in k for k in keys)


async def test_a_channel_limit_covers_all_its_clients(
    make_gateway: GatewayFactory, backend: dict[str, Any]
) -> None:
    gateway = await make_gateway(rate_limit_channels={"kiosk": 1}, **backend)  # burst: 2
    kiosk = {"x-onestop-channel": "kiosk"}
    async with (
        await client_for(gateway, "10.0.1.1") as first,
        await client_for(gateway, "10.0.1.2") as second,
    ):
        assert await statuses(first, 1, **kiosk) + await statuses(second, 1, **kiosk) == [200, 200]
        refused = await second.post("/graphql", json=QUERY, headers=kiosk)
        assert refused.status_code == 429 and refused.json()["errors"][0]["extensions"]["scope"] == "channel"
        assert await statuses(second, 2, **{"x-onestop-channel": "app"}) == [
            200,
            200,
        ]  # other channels are free


async def test_a_tokens_channel_counts_not_the_header(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(rate_limit_channels={"kiosk": 1}, jwt_secret=SECRET)
    token = mint(SECRET, "kiosk-3", Role.STAFF, channel=ClientChannel.KIOSK, station="PD-001")
    headers = {"authorization": f"Bearer {token}", "x-onestop-channel": "app"}
    async with await client_for(gateway, "10.0.1.3") as kiosk:
        assert await statuses(kiosk, 3, **headers) == [200, 200, 429]


async def test_the_bucket_refills(make_gateway: GatewayFactory, backend: dict[str, Any]) -> None:
    gateway = await make_gateway(rate_limit_client=10, rate_limit_client_burst=2, **backend)
    async with await client_for(gateway, "10.0.2.1") as client:
        assert await statuses(client, 3) == [200, 200, 429]

        async def admitted() -> bool:  # a refused request takes no token: asking again costs nothing
            return await statuses(client, 1) == [200]

        await until(admitted, timeout=2.0)  # 10 tokens a second: one is back within 0.1 s of the last


async def test_memory_buckets_refill_at_their_rate_up_to_the_burst() -> None:
    now = [0.0]
    store = MemoryBuckets(clock=lambda: now[0])
    bucket = [Bucket("client", rate=10, burst=2)]

    async def admitted(count: int) -> list[bool]:
        return [(await store.take(bucket)).admitted for _ in range(count)]

    assert await admitted(3) == [True, True, False]
    now[0] = 0.09
    assert await admitted(1) == [False]  # not yet a whole token
    now[0] = 0.25  # 10 tokens a second: two back
    assert await admitted(3) == [True, True, False]
    now[0] = 60.0  # however long idle, never more than the burst
    assert await admitted(3) == [True, True, False]


async def test_probes_are_never_rate_limited(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(rate_limit_client=1, rate_limit_client_burst=1)
    async with await client_for(gateway, "10.0.3.1") as client:
        await statuses(client, 2)
        assert (await client.get("/healthz")).status_code == 200


async def test_development_has_no_client_limit_unless_set(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    assert not gateway.services.guards.rate_limits.enabled
    production = await make_gateway(mode="production")
    assert production.services.guards.rate_limits.client_rate == 20


async def test_redis_buckets_are_shared_between_processes(redis_url: str) -> None:
    """Two stores over one Redis (two gateway processes): one allowance between them, taken atomically."""
    one, two = RedisBuckets(redis_url), RedisBuckets(redis_url)
    bucket = [Bucket(f"{TEST_NAMESPACE}:ratelimit:client:shared", rate=0.5, burst=10)]
    try:
        verdicts = await asyncio.gather(*(store.take(bucket) for store in [one, two] * 12))
    finally:
        await one.close()
        await two.close()
    assert sum(v.admitted for v in verdicts) == 10  # never more than the burst, whatever the interleaving
    assert all(1.0 < v.wait_s <= 2.0 for v in verdicts if not v.admitted)


async def test_redis_failing_falls_back_to_a_limit_per_process_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis unreachable: the burst still holds (per process), and the outage is one log line."""
    store = RedisBuckets("redis://127.0.0.1:1/0", retry_s=0.0)  # nothing listens there; ask every time
    try:
        with caplog.at_level(logging.WARNING, logger="onestop.ratelimit"):
            verdicts = [await store.take([Bucket("x", rate=1, burst=3)]) for _ in range(50)]
    finally:
        await store.close()
    assert sum(v.admitted for v in verdicts) == 3  # before: all 50 admitted
    assert store.down and store.fallbacks == 50
    lines = [r for r in caplog.records if r.name == "onestop.ratelimit"]
    assert len(lines) == 1 and "per process" in lines[0].getMessage()


async def test_memory_buckets_forget_full_buckets() -> None:
    now = [0.0]
    store = MemoryBuckets(max_entries=100, clock=lambda: now[0])
    for n in range(100):
        await store.take([Bucket(f"client-{n}", rate=1000, burst=1)])
    now[0] = 0.01  # each refilled after 1 ms
    await store.take([Bucket("one-more", rate=1000, burst=1)])
    assert len(store) <= 2
    flood = MemoryBuckets(max_entries=100)
    for n in range(1000):  # slow buckets that stay partly empty: still bounded
        await flood.take([Bucket(f"client-{n}", rate=0.001, burst=2)])
    assert len(flood) <= 100


def test_a_misspelt_channel_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from config import Settings

    with pytest.raises(ValidationError, match="kiosks"):
        Settings(rate_limit_channels={"kiosks": 100})


async def test_a_burst_on_redis_is_counted_exactly_not_admitted_by_timeouts(redis_url: str) -> None:
    """A thousand checks at once share the bounded pool; none times out into 'admitted'."""
    store = RedisBuckets(redis_url)
    bucket = [Bucket(f"{TEST_NAMESPACE}:ratelimit:client:burst", rate=0.001, burst=100)]
    try:
        verdicts = await asyncio.gather(*(store.take(bucket) for _ in range(1000)))
    finally:
        await store.close()
    assert sum(v.admitted for v in verdicts) == 100


async def test_a_token_is_verified_once_per_request(
    make_gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from identity.tokens import TokenVerifier

    gateway = await make_gateway(rate_limit_client=100, jwt_secret=SECRET)
    calls = 0
    real = TokenVerifier.verify

    async def counting(self: TokenVerifier, token: str) -> Any:
        nonlocal calls
        calls += 1
        return await real(self, token)

    monkeypatch.setattr(TokenVerifier, "verify", counting)
    token = {"authorization": f"Bearer {mint(SECRET, RESIDENT, Role.RESIDENT)}"}
    async with await client_for(gateway, "10.0.4.1") as client:
        assert await statuses(client, 3, **token) == [200, 200, 200]
        assert calls == 3
        other_secret = "another-secret-of-at-least-32-bytes!!"
        forged = {"authorization": f"Bearer {mint(other_secret, RESIDENT, Role.RESIDENT)}"}
        refused = await client.post("/graphql", json=QUERY, headers=forged)
        assert refused.status_code == 401  # the limiter's failed check does not let the view skip its own
