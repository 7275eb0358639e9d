"""caseUpdated over graphql-transport-ws: changes made at a (mock) department reach the resident, by
polling and by the department's signed webhook, once each; nobody else's cases are heard."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
import websockets

from coordination.watch import Watched
from mocks.server import RunningMocks
from tests.access_support import SECRET, fixture, resident_token
from tests.conftest import Admin, Gateway, GatewayFactory
from tests.live_support import (
    change_status,
    connect,
    housing_case,
    served,
    set_webhook,
    until,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

FAST_POLL = {"case_poll_min_s": 0.2, "case_poll_max_s": 0.8}
NO_POLL = {"case_poll_min_s": 60.0, "case_poll_max_s": 60.0}  # only the webhook can tell in time


async def live_gateway(make_gateway: GatewayFactory, **settings: Any) -> Gateway:
    return await make_gateway(jwt_secret=SECRET, **settings)


def watching(gateway: Gateway, resident_id: str, department: str = "housing") -> Any:
    return lambda: gateway.services.live.watch.seen(resident_id, department) is not None


def polled(gateway: Gateway, resident_id: str, department: str = "housing") -> Watched:
    """The poller's record for one resident at one department (its polls and current wait)."""
    watched: Watched = gateway.services.live.watch._watched[(resident_id, department)]
    return watched


def update_of(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] == "next", message
    assert not message["payload"].get("errors"), message
    update: dict[str, Any] = message["payload"]["data"]["caseUpdated"]
    return update


async def test_a_status_change_at_the_department_reaches_the_subscriber_by_polling(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway, **FAST_POLL)
    case = housing_case()
    async with served(gateway.app) as url, connect(url, resident_token(fixture("non_pudong_hukou"))) as ws:
        await ws.subscribe(ids=[f"housing:{case.ref}"])
        await until(watching(gateway, case.resident))
        await change_status(http, mocks.url, "housing", case.ref, "APPROVED")
        update = update_of(await ws.next_payload())
    assert update["case"]["id"] == f"housing:{case.ref}"
    assert update["case"]["status"] == "APPROVED"
    assert update["case"]["departmentStatus"] == "已批准"
    assert update["case"]["history"][-1] == {"status": "APPROVED", "departmentStatus": "已批准"}
    assert update["previousStatus"] == case.status.value == "REJECTED"
    assert update["source"] == "POLL"
    assert update["changedAt"] == update["case"]["updatedAt"]


async def test_a_signed_department_webhook_reaches_the_subscriber_without_waiting_for_a_poll(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway, **NO_POLL)
    case = housing_case()
    async with served(gateway.app) as url, connect(url, resident_token(fixture("non_pudong_hukou"))) as ws:
        await set_webhook(http, mocks.url, f"{url}/webhooks")
        await ws.subscribe()  # all the resident's cases
        await until(watching(gateway, case.resident))
        answer = await change_status(http, mocks.url, "housing", case.ref, "WITHDRAWN")
        assert answer["webhook"] == {"status": 202}
        update = update_of(await ws.next_payload(timeout=10))
    assert update["case"]["status"] == "WITHDRAWN"
    assert update["source"] == "WEBHOOK"
    assert update["previousStatus"] == "REJECTED"


async def test_a_change_seen_by_both_polling_and_webhook_is_delivered_once(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    gateway = await live_gateway(make_gateway, case_poll_min_s=0.1, case_poll_max_s=0.1)
    case = housing_case()
    async with served(gateway.app) as url, connect(url, resident_token(fixture("non_pudong_hukou"))) as ws:
        await set_webhook(http, mocks.url, f"{url}/webhooks")
        await ws.subscribe(ids=[f"housing:{case.ref}"])
        await until(watching(gateway, case.resident))
        await change_status(http, mocks.url, "housing", case.ref, "IN_REVIEW")
        first = update_of(await ws.next_payload())
        # pollers ask every 0.1 s and the webhook came too: nothing more may arrive
        with pytest.raises(TimeoutError):
            await ws.next_payload(timeout=1.5)
        watch = gateway.services.live.watch
        assert watch.publisher.published == 1
        await change_status(http, mocks.url, "housing", case.ref, "APPROVED")
        second = update_of(await ws.next_payload())
    assert first["case"]["status"] == "IN_REVIEW"
    assert (second["previousStatus"], second["case"]["status"]) == ("IN_REVIEW", "APPROVED")


async def test_only_watched_cases_are_polled_and_polling_stops_when_the_last_watcher_leaves(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await live_gateway(make_gateway, case_poll_min_s=0.1, case_poll_max_s=0.2)
    watch = gateway.services.live.watch
    case = housing_case()
    before = await admin.requests("housing")
    assert watch.pollers() == 0 and await admin.requests("housing") == before  # nobody watches: no poller
    async with served(gateway.app) as url, connect(url, resident_token(fixture("non_pudong_hukou"))) as ws:
        await ws.subscribe(ids=[f"housing:{case.ref}"])
        await until(lambda: watch.pollers() == 1)  # one department, however many cases
        await until(watching(gateway, case.resident))
        await ws.subscribe(op="2", ids=[f"housing:{case.ref}"])  # a second listener shares the poller
        watched = polled(gateway, case.resident)
        await until(lambda: watched.polls >= 5)  # several polls with both listeners
        assert watch.pollers() == 1
    await until(lambda: watch.pollers() == 0)
    assert watched.poller is not None
    await until(watched.poller.done)  # stopped with its last watcher: nothing left that could ask
    asked = await admin.requests("housing")
    assert watched.poller.cancelled() and await admin.requests("housing") == asked
    # two baselines + one call per poll of the one poller; never one call per case or per listener
    assert 3 <= asked - before <= 2 + watched.polls


async def test_polling_backs_off_while_nothing_changes(make_gateway: GatewayFactory, admin: Admin) -> None:
    gateway = await live_gateway(make_gateway, case_poll_min_s=0.05, case_poll_max_s=3.2)
    case = housing_case()
    async with served(gateway.app) as url, connect(url, resident_token(fixture("non_pudong_hukou"))) as ws:
        await ws.subscribe(ids=[f"housing:{case.ref}"])
        await until(watching(gateway, case.resident))
        watched = polled(gateway, case.resident)
        start, polls = await admin.requests("housing"), watched.polls
        await until(lambda: watched.polls >= polls + 4)
        asked = await admin.requests("housing") - start
        wait_s = watched.wait_s
    # each quiet poll doubles the wait from 0.05 s: after 4 of them (0.05 + 0.1 + 0.2 + 0.4 s) it is 0.8 s
    # (a fixed 0.05 s would still be 0.05); one call to the department per poll
    assert wait_s == 0.05 * 2 ** (polls + 4) and 3 <= asked <= 5, (wait_s, asked)


async def test_no_polls_while_the_departments_breaker_is_open(
    make_gateway: GatewayFactory, admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = await live_gateway(
        make_gateway, case_poll_min_s=0.1, case_poll_max_s=0.1, policy={"breaker_reset_s": 30}
    )
    watch = gateway.services.live.watch
    case = housing_case()
    async with served(gateway.app) as url, connect(url, resident_token(fixture("non_pudong_hukou"))) as ws:
        await ws.subscribe(ids=[f"housing:{case.ref}"])
        await until(watching(gateway, case.resident))
        await admin.fault("housing", error_rate=1.0)
        breaker = gateway.services.registry.get("housing").resilience.breaker
        await until(lambda: breaker.state.value == "OPEN")
        asked = await admin.requests("housing")
        decided: list[float | None] = []  # each turn of the poller asks the breaker first
        pause = watch._breaker_pause

        def noted(department: str) -> float | None:
            decided.append(pause(department))
            return decided[-1]

        monkeypatch.setattr(watch, "_breaker_pause", noted)
        await until(lambda: len(decided) >= 5)  # five turns of the poller, 0.1 s apart
        assert await admin.requests("housing") == asked
        assert all(p is not None for p in decided)  # each turn waited for the breaker instead of asking


async def test_websocket_refuses_forged_tokens_and_other_origins(make_gateway: GatewayFactory) -> None:
    gateway = await live_gateway(make_gateway)
    forged = resident_token(fixture("non_pudong_hukou")).rsplit(".", 1)[0] + ".AAAA"
    async with served(gateway.app) as url:
        async with connect(url, forged, ack=False) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.receive()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with connect(url, origin="https://evil.example"):
                pass
        assert refused.value.response.status_code == 403
        async with connect(url, origin=url):  # the gateway's own pages may
            pass


async def test_anonymous_subscribers_are_refused_with_a_typed_error(make_gateway: GatewayFactory) -> None:
    gateway = await live_gateway(make_gateway)
    async with served(gateway.app) as url, connect(url) as ws:
        await ws.subscribe()
        message = await ws.next_payload()
    assert_refused(message, "UNAUTHENTICATED")


async def test_a_resident_cannot_subscribe_to_someone_elses_case(make_gateway: GatewayFactory) -> None:
    gateway = await live_gateway(make_gateway)
    theirs = housing_case("non_pudong_hukou")
    async with served(gateway.app) as url, connect(url, resident_token(fixture("senior_pudong"))) as ws:
        answers = []
        for op, ids in (
            ("1", [f"housing:{theirs.ref}"]),
            ("2", ["housing:ZJ2099-99999"]),  # no such case: the same answer
            ("3", ["tax:anything"]),  # a department without cases: the same answer
        ):
            await ws.subscribe(op=op, ids=ids)
            answers.append(await ws.next_payload())
            assert await ws.next_payload() == {"id": op, "type": "complete"}
        message, missing, elsewhere = answers
    for answer in (message, missing, elsewhere):
        assert_refused(answer, "FORBIDDEN")
        assert theirs.resident not in str(answer)


async def test_a_failing_department_is_a_typed_error_when_its_cases_are_named(
    make_gateway: GatewayFactory, admin: Admin
) -> None:
    gateway = await live_gateway(make_gateway)
    case = housing_case()
    await admin.fault("housing", down=True)
    async with served(gateway.app) as url, connect(url, resident_token(fixture("non_pudong_hukou"))) as ws:
        await ws.subscribe(ids=[f"housing:{case.ref}"])  # whose case it is cannot be told: refused
        named = await ws.next_payload()
        await ws.next_payload()  # complete
        await ws.subscribe(op="2")  # all cases: the others are watched, housing once it answers
        with pytest.raises(TimeoutError):
            await ws.next_payload(timeout=1.0)
    assert_refused(named, "UPSTREAM_UNAVAILABLE")
    assert named["payload"]["errors"][0]["extensions"]["department"] == "housing"


def assert_refused(message: dict[str, Any], code: str) -> None:
    """A typed refusal: a `next` with only errors, or an `error` message, carrying ``code``."""
    if message["type"] == "error":
        errors = message["payload"]
    else:
        assert message["type"] == "next", message
        assert message["payload"].get("data") is None, message
        errors = message["payload"]["errors"]
    assert [e["extensions"]["code"] for e in errors] == [code], message
