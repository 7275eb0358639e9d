"""Each case change is published once, whoever sees it first: the ledger, in process and in Redis, and
two gateways polling the same resident through one Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiohttp
import pytest
from redis.asyncio import Redis

from coordination.bus import LocalBus, RedisBus
from coordination.case_changes import (
    CaseChange,
    ChangePublisher,
    LocalLedger,
    RedisLedger,
    change_of,
    ledger_for,
    topic_for,
)
from domain.records import CaseRecord, CaseStatus
from identity.digest import Digester
from mocks.server import RunningMocks
from tests.access_support import SECRET, fixture, resident_token
from tests.conftest import TEST_NAMESPACE, GatewayFactory
from tests.live_support import change_status, connect, housing_case, served, until
from tests.test_bus import redis_listens

pytestmark = pytest.mark.asyncio(loop_scope="session")

RESIDENT = fixture("non_pudong_hukou").id_number
DIGESTER = Digester("case-changes-tests-digest-key")


def record(status: CaseStatus, word: str, minute: int) -> CaseRecord:
    return CaseRecord(
        id="ZJ2026-00001",
        department="housing",
        service_id="ZJ-001",
        resident_id=RESIDENT,
        status=status,
        department_status=word,
        history=(),
        submitted_at=None,
        updated_at=datetime(2026, 11, 25, 10, minute, tzinfo=UTC),
        next_action=None,
        expected_completion=None,
    )


async def test_a_change_has_one_key_whoever_saw_it_and_the_message_carries_no_id_number() -> None:
    before, after = record(CaseStatus.IN_REVIEW, "审核中", 0), record(CaseStatus.APPROVED, "已批准", 5)
    polled, told = change_of(after, before, "POLL", DIGESTER), change_of(after, None, "WEBHOOK", DIGESTER)
    assert polled.key == told.key
    assert change_of(record(CaseStatus.APPROVED, "已批准", 6), after, "POLL", DIGESTER).key != polled.key
    message = polled.to_message()
    assert RESIDENT not in str(message)
    assert message["resident"] == DIGESTER.of(RESIDENT)
    assert CaseChange.from_message(message) == polled
    assert CaseChange.from_message({"department": "housing"}) is None
    assert CaseChange.from_message({**message, "source": "GOSSIP"}) is None


async def test_the_local_ledger_lets_a_key_out_once_within_its_time() -> None:
    now = [100.0]
    ledger = LocalLedger(ttl_s=0.2, clock=lambda: now[0])
    assert await ledger.claim("k") and not await ledger.claim("k")
    now[0] = 100.19
    assert not await ledger.claim("k")  # still within its time
    now[0] = 100.2
    assert await ledger.claim("k")


async def test_the_redis_ledger_is_shared_by_processes(redis_url: str) -> None:
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        ledgers = [
            RedisLedger(first, f"{TEST_NAMESPACE}:ledger-test"),
            RedisLedger(second, f"{TEST_NAMESPACE}:ledger-test"),
        ]
        claims = await asyncio.gather(*(ledgers[i % 2].claim("same-change") for i in range(20)))
        assert sum(claims) == 1
    finally:
        await first.aclose()
        await second.aclose()


async def test_publishers_on_two_buses_publish_a_change_once(redis_url: str) -> None:
    buses = [RedisBus(redis_url, TEST_NAMESPACE), RedisBus(redis_url, TEST_NAMESPACE)]
    try:
        publishers = [ChangePublisher(b, ledger_for(b, TEST_NAMESPACE), DIGESTER) for b in buses]
        change = change_of(record(CaseStatus.APPROVED, "已批准", 7), None, "POLL", DIGESTER)
        async with buses[0].subscribe(topic_for(change.resident_digest)) as heard:
            await until(lambda: redis_listens(buses[0], topic_for(change.resident_digest)))
            sent = await asyncio.gather(*(p.publish(change) for p in publishers))
            first = await asyncio.wait_for(anext(heard), 5)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(heard), 0.5)
        assert sorted(sent) == [False, True]
        assert first["ref"] == change.ref
    finally:
        for bus in buses:
            await bus.close()


async def test_without_redis_the_ledger_is_the_processes_own() -> None:
    assert isinstance(ledger_for(LocalBus(), "x"), LocalLedger)


async def test_two_gateways_polling_one_resident_through_one_redis_publish_each_change_once(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, redis_url: str
) -> None:
    settings = {"jwt_secret": SECRET, "redis_url": redis_url, "case_poll_min_s": 0.1, "case_poll_max_s": 0.1}
    gateways = [await make_gateway(**settings), await make_gateway(**settings)]
    case = housing_case()
    token = resident_token(fixture("non_pudong_hukou"))
    async with served(gateways[0].app) as a, served(gateways[1].app) as b:
        async with connect(a, token) as on_a, connect(b, token) as on_b:
            for ws in (on_a, on_b):
                await ws.subscribe(ids=[f"housing:{case.ref}"])
            for gateway in gateways:
                watch = gateway.services.live.watch
                await until(lambda w=watch: w.seen(case.resident, "housing") is not None)
            await change_status(http, mocks.url, "housing", case.ref, "APPROVED")
            updates = [await on_a.next_payload(), await on_b.next_payload()]
            for ws in (on_a, on_b):  # and nothing more, though both keep polling
                with pytest.raises(TimeoutError):
                    await ws.next_payload(timeout=1.0)
    assert [u["payload"]["data"]["caseUpdated"]["case"]["status"] for u in updates] == ["APPROVED"] * 2
    published = [g.services.live.watch.publisher.published for g in gateways]
    assert sum(published) == 1, published
