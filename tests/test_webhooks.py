"""POST /webhooks/{department}: only the department, signed and fresh, once; every refusal typed, no 500."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from connectors.spec import Webhook
from coordination.case_changes import topic_for
from coordination.webhooks import WebhookRefused, check_signature, sign
from tests.conftest import Gateway, GatewayFactory
from tests.live_support import HOUSING_SECRET, housing_case, post_webhook, signed_headers, webhook_body

pytestmark = pytest.mark.asyncio(loop_scope="session")

CASE = housing_case()
BODY = webhook_body(CASE)


def code(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/json"), response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    return str(errors[0]["extensions"]["code"])


async def heard(
    gateway: Gateway, action: Callable[[], Awaitable[httpx.Response]], timeout: float = 5.0
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """Messages published for CASE's resident while ``action`` runs (and shortly after)."""
    messages: list[dict[str, Any]] = []
    topic = topic_for(gateway.services.digester.of(CASE.resident))
    async with gateway.services.bus.subscribe(topic) as subscription:
        result = await action()

        async def drain() -> None:
            async for message in subscription:
                messages.append(message)

        try:
            await asyncio.wait_for(drain(), timeout)
        except TimeoutError:
            pass
    return result, messages


async def test_a_signed_call_is_accepted_and_confirmed_with_the_department(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()

    async def call() -> httpx.Response:
        return await post_webhook(gateway.client, "housing", BODY, signed_headers(HOUSING_SECRET, BODY))

    response, messages = await heard(gateway, call, timeout=2.0)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": True}
    assert len(messages) == 1
    message = messages[0]
    assert (message["department"], message["ref"], message["source"]) == ("housing", CASE.ref, "WEBHOOK")
    assert message["status"] == CASE.status.value  # what the department says, not what the call said
    assert message["resident"] == gateway.services.digester.of(CASE.resident)
    assert CASE.resident not in json.dumps(message)  # never the ID number on the bus


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        pytest.param({"content-type": "application/json"}, 401, "WEBHOOK_SIGNATURE_MISSING", id="unsigned"),
        pytest.param(
            signed_headers("another-secret-of-some-length", BODY),
            403,
            "WEBHOOK_SIGNATURE_INVALID",
            id="forged",
        ),
        pytest.param(
            signed_headers(HOUSING_SECRET, BODY, timestamp=int(time.time()) - 3600),
            403,
            "WEBHOOK_STALE",
            id="stale",
        ),
        pytest.param(
            signed_headers(HOUSING_SECRET, BODY, timestamp=int(time.time()) + 3600),
            403,
            "WEBHOOK_STALE",
            id="future",
        ),
        pytest.param(
            {**signed_headers(HOUSING_SECRET, BODY), "x-onestop-signature": "sha256=xyz"},
            403,
            "WEBHOOK_SIGNATURE_INVALID",
            id="garbled",
        ),
        pytest.param(
            {**signed_headers(HOUSING_SECRET, BODY), "x-onestop-timestamp": "yesterday"},
            401,
            "WEBHOOK_SIGNATURE_MISSING",
            id="bad-timestamp",
        ),
    ],
)
async def test_unsigned_forged_and_stale_calls_are_refused_and_publish_nothing(
    make_gateway: GatewayFactory, headers: dict[str, str], status: int, expected: str
) -> None:
    gateway = await make_gateway()

    async def call() -> httpx.Response:
        return await post_webhook(gateway.client, "housing", BODY, headers)

    response, messages = await heard(gateway, call, timeout=0.5)
    assert (response.status_code, code(response)) == (status, expected)
    assert messages == []


async def test_a_replayed_call_is_refused(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway()
    headers = signed_headers(HOUSING_SECRET, BODY)
    first = await post_webhook(gateway.client, "housing", BODY, headers)
    again = await post_webhook(gateway.client, "housing", BODY, headers)
    assert first.status_code == 202
    assert (again.status_code, code(again)) == (403, "WEBHOOK_REPLAYED")


async def test_a_signature_from_another_department_does_not_open_this_one(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    response = await post_webhook(
        gateway.client, "medical-insurance", BODY, signed_headers(HOUSING_SECRET, BODY)
    )
    assert (response.status_code, code(response)) == (403, "WEBHOOK_SIGNATURE_INVALID")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(json.dumps({"ref": CASE.ref}).encode(), id="no-resident"),
        pytest.param(json.dumps({"ref": CASE.ref, "resident_id": "1234"}).encode(), id="bad-id-number"),
        pytest.param(json.dumps({"ref": "", "resident_id": CASE.resident}).encode(), id="empty-ref"),
        pytest.param(json.dumps({"ref": "x" * 65, "resident_id": CASE.resident}).encode(), id="long-ref"),
        pytest.param(json.dumps({"ref": 7, "resident_id": CASE.resident}).encode(), id="ref-not-text"),
    ],
)
async def test_bad_bodies_are_400(make_gateway: GatewayFactory, body: bytes) -> None:
    gateway = await make_gateway()
    response = await post_webhook(gateway.client, "housing", body, signed_headers(HOUSING_SECRET, body))
    assert (response.status_code, code(response)) == (400, "BAD_REQUEST")


async def test_unknown_departments_and_departments_without_webhooks_are_404(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    for department in ("nowhere", "tax"):
        response = await post_webhook(gateway.client, department, BODY, signed_headers(HOUSING_SECRET, BODY))
        assert (response.status_code, code(response)) == (404, "NOT_FOUND")


async def test_bodies_are_bounded(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(webhook_max_body_bytes=1024)
    big = json.dumps({"ref": CASE.ref, "resident_id": CASE.resident, "pad": "x" * 4096}).encode()
    response = await post_webhook(gateway.client, "housing", big, signed_headers(HOUSING_SECRET, big))
    assert (response.status_code, code(response)) == (413, "PAYLOAD_TOO_LARGE")

    async def chunks() -> Any:  # no Content-Length: counted while read
        for _ in range(8):
            yield b"x" * 512

    response = await gateway.client.post(
        "/webhooks/housing", content=chunks(), headers=signed_headers(HOUSING_SECRET, b"")
    )
    assert (response.status_code, code(response)) == (413, "PAYLOAD_TOO_LARGE")


async def test_a_call_for_a_case_the_department_does_not_list_publishes_nothing(
    make_gateway: GatewayFactory,
) -> None:
    gateway = await make_gateway()
    body = json.dumps({"ref": "ZJ2099-99999", "resident_id": CASE.resident}).encode()

    async def call() -> httpx.Response:
        return await post_webhook(gateway.client, "housing", body, signed_headers(HOUSING_SECRET, body))

    response, messages = await heard(gateway, call, timeout=1.5)
    assert response.status_code == 202
    assert messages == []


async def test_the_signature_covers_the_timestamp_and_the_body() -> None:
    webhook = Webhook.model_validate({"secret": HOUSING_SECRET})
    now = 1_800_000_000
    headers = {"x-onestop-timestamp": str(now), "x-onestop-signature": sign(HOUSING_SECRET, str(now), BODY)}
    assert check_signature(webhook, headers, BODY, now=now) == headers["x-onestop-signature"]
    with pytest.raises(WebhookRefused):
        check_signature(webhook, headers, BODY + b" ", now=now)
    with pytest.raises(WebhookRefused):
        check_signature(webhook, {**headers, "x-onestop-timestamp": str(now + 1)}, BODY, now=now)


async def test_a_replay_check_that_cannot_answer_refuses_with_503_and_retry_after(
    make_gateway: GatewayFactory,
) -> None:
    """Fail closed: when the memory of accepted signatures is unreachable, nothing is accepted unchecked."""
    gateway = await make_gateway()

    class Unreachable:
        async def claim(self, key: str) -> bool:
            raise ConnectionError("Redis is away")

    [route] = [r for r in gateway.app.routes if getattr(r, "path", "") == "/webhooks/{department}"]
    endpoint = route.endpoint.__self__  # type: ignore[attr-defined]  # the WebhookEndpoint behind the route
    endpoint.seen = Unreachable()
    responses = [
        await post_webhook(gateway.client, "housing", BODY, signed_headers(HOUSING_SECRET, BODY))
        for _ in range(3)
    ]
    for response in responses:
        assert response.status_code == 503 and response.headers["retry-after"] == "30"
        extensions = response.json()["errors"][0]["extensions"]
        assert extensions == {"code": "WEBHOOK_REPLAY_CHECK_UNAVAILABLE", "retryAfterSeconds": 30}
