"""Structured logs and request ids: one JSON line per request, ids carried in, out and to departments."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from identity.principal import Role
from identity.tokens import mint
from observability.logging import JsonFormatter, configure_logging
from observability.redaction import safe_request_id, scrub
from observability.requests import new_request_id
from tests.conftest import Admin, Gateway, GatewayFactory

SECRET = "logging-tests-secret-of-32-bytes-or-more"
ID_NUMBER = "310115195503151234"
CATALOGUE = "query Catalogue { services(first: 5) { totalCount } }"


class JsonLines:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.buffer.getvalue().splitlines() if line]

    def of(self, logger: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == logger]


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    """Every log record as the gateway writes it in production: JSON lines, here at DEBUG."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", buffer)
    try:
        yield JsonLines(buffer)
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


async def test_one_json_line_per_request_with_who_but_not_their_number(
    make_gateway: GatewayFactory, json_logs: JsonLines
) -> None:
    gateway = await make_gateway(jwt_secret=SECRET)
    token = mint(SECRET, ID_NUMBER, Role.RESIDENT)
    response = await gateway.client.post(
        "/graphql",
        json={"query": CATALOGUE},
        headers={"Authorization": f"Bearer {token}", "X-Onestop-Channel": "kiosk"},
    )
    assert response.status_code == 200
    (line,) = json_logs.of("onestop.access")
    assert line["request_id"] == response.headers["x-request-id"]
    assert line["level"] == "info" and line["message"] == "request"
    assert line["operation"] == "Catalogue" and line["operation_type"] == "query"
    assert line["status"] == 200 and line["outcome"] == "ok" and line["duration_ms"] > 0
    assert line["role"] == "resident" and line["channel"] == "kiosk"
    assert line["subject"] == gateway.services.digester.of(ID_NUMBER)
    text = json_logs.buffer.getvalue()
    assert ID_NUMBER not in text and token not in text


async def test_failures_are_logged_with_their_codes(
    make_gateway: GatewayFactory, admin: Admin, json_logs: JsonLines
) -> None:
    gateway = await make_gateway(policy={"retries": 0})
    await admin.fault("commerce", error_rate=1.0)
    await gateway.query(CATALOGUE)
    (line,) = json_logs.of("onestop.access")
    assert line["outcome"] == "partial" and line["error_codes"] == ["UPSTREAM_UNAVAILABLE"]
    upstream = json_logs.of("onestop.upstream")
    commerce = [u for u in upstream if u["department"] == "commerce"]
    assert [(u["operation"], u["outcome"]) for u in commerce] == [("catalog", "UPSTREAM_UNAVAILABLE")]
    assert all(u["request_id"] == line["request_id"] for u in upstream)  # carried into every call
    assert {u["outcome"] for u in upstream if u["department"] != "commerce"} == {"ok"}


async def test_a_sane_request_id_is_kept_and_returned(gateway: Gateway) -> None:
    response = await gateway.client.get("/healthz", headers={"X-Request-Id": "lb-7f3a9c21e0"})
    assert response.headers["x-request-id"] == "lb-7f3a9c21e0"


@pytest.mark.parametrize(
    "given",
    [ID_NUMBER, "short", "x" * 65, "has space in it", "id\nnewline-forged", "tel-13812345678"],
)
async def test_an_odd_request_id_is_replaced(gateway: Gateway, given: str) -> None:
    response = await gateway.client.get("/healthz", headers={"X-Request-Id": given})
    returned = response.headers["x-request-id"]
    assert returned != given and safe_request_id(returned) == returned


async def test_departments_receive_the_request_id(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str | None] = []
    original = aiohttp.ClientSession._request

    async def recording(self: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
        sent.append((kwargs.get("headers") or {}).get("X-Request-Id"))
        return await original(self, method, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", recording)
    response = await gateway.client.post(
        "/graphql", json={"query": CATALOGUE}, headers={"X-Request-Id": "trace-0123456789"}
    )
    assert response.status_code == 200
    assert len(sent) >= 5 and set(sent) == {"trace-0123456789"}


def test_generated_request_ids_always_pass_the_check() -> None:
    ids = {new_request_id() for _ in range(2000)}  # a run of 11 digits in 32 hex digits is not rare
    assert len(ids) == 2000 and all(safe_request_id(i) == i for i in ids)


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("onestop.test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_the_formatter_scrubs_id_numbers_and_tokens_whatever_the_message() -> None:
    token = mint(SECRET, ID_NUMBER, Role.RESIDENT)
    try:
        raise ValueError(f"resident {ID_NUMBER} not found")
    except ValueError as exc:
        error = exc
    line = JsonFormatter().format(_record("looked up %s with %s", ID_NUMBER, f"Bearer {token}", exc=error))
    assert ID_NUMBER not in line and token not in line
    parsed = json.loads(line)
    assert parsed["message"] == "looked up [id-number] with Bearer [token]"
    assert "resident [id-number] not found" in parsed["exception"]
    assert parsed["level"] == "error" and parsed["ts"].endswith("Z")


def test_scrub_leaves_other_numbers_alone() -> None:
    assert (
        scrub("took 1234 ms, 17 pages, 3101151955031512345 ns")
        == "took 1234 ms, 17 pages, 3101151955031512345 ns"
    )
    assert scrub("id 31011519550315123X.") == "id [id-number]."
    assert scrub(f"[{ID_NUMBER}]") == "[[id-number]]"


def test_text_format_for_a_terminal_is_scrubbed_too() -> None:
    buffer = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("INFO", "text", buffer)
    try:
        logging.getLogger("onestop.test").info("resident %s", ID_NUMBER)
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
    assert "resident [id-number]" in buffer.getvalue() and ID_NUMBER not in buffer.getvalue()
